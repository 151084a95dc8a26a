"""The one sandbox buyer who approves every order and setup token."""

from __future__ import annotations

from sandbox.paypal.state import Sandbox
from sandbox.paypal.store import Resource

EMAIL = "sb-buyer@personal.example.com"
NAME: Resource = {"given_name": "Sandbox", "surname": "Buyer"}


def payer(sandbox: Sandbox) -> Resource:
    """The ``payer`` object of an approved order."""
    return {
        "name": NAME,
        "email_address": EMAIL,
        "payer_id": sandbox.store.payer_id,
        "address": {"country_code": "US"},
    }


def wallet(sandbox: Sandbox) -> Resource:
    """``payment_source.paypal`` of an approved order: the buyer's verified wallet."""
    return {
        "email_address": EMAIL,
        "account_id": sandbox.store.payer_id,
        "account_status": "VERIFIED",
        "name": NAME,
        "address": {"country_code": "US"},
    }
