"""``python -m sandbox.paypal``: run the sandbox with uvicorn (used by ``make dev``)."""

from __future__ import annotations

import argparse

import uvicorn

from sandbox.paypal.app import create_app
from sandbox.paypal.state import SandboxConfig


def main() -> None:
    """Parse the command line and serve until interrupted."""
    defaults = SandboxConfig()
    parser = argparse.ArgumentParser(description="Local stand-in for PayPal's REST API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8421)
    parser.add_argument("--public-url", help="base URL callers use (default http://HOST:PORT)")
    parser.add_argument("--client-id", default=defaults.client_id)
    parser.add_argument("--client-secret", default=defaults.client_secret)
    parser.add_argument("--webhook-url", help="where to deliver webhook events")
    parser.add_argument("--webhook-id", default=defaults.webhook_id)
    parser.add_argument(
        "--request-id-lifetime",
        type=float,
        help="seconds a PayPal-Request-Id is remembered (PayPal: 21600 for orders; default: ever)",
    )
    args = parser.parse_args()
    config = SandboxConfig(
        public_url=args.public_url or f"http://{args.host}:{args.port}",
        client_id=args.client_id,
        client_secret=args.client_secret,
        webhook_url=args.webhook_url,
        webhook_id=args.webhook_id,
        request_id_lifetime_seconds=args.request_id_lifetime,
    )
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
