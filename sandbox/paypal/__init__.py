"""A local stand-in for PayPal's REST API (Orders v2, Payments v2, Vault v3, webhooks).

PayPal offers no local sandbox, and its hosted one needs network access and real accounts; this
in-memory ASGI app answers the same paths in the same shapes so the official ``paypalserversdk``
client, and Durapay's PayPal activities, run unchanged against it in tests and ``make dev``.
"""

from sandbox.paypal.app import create_app
from sandbox.paypal.state import SandboxConfig

__all__ = ["SandboxConfig", "create_app"]
