"""localstripe for tests, and helpers that do what Stripe.js or a customer's bank would do to it.

The ``localstripe`` executable cannot be told where to listen (it binds ``::``, every interface,
IPv4 and IPv6) and pickles its whole store to ``/tmp/localstripe.pickle`` after every change, even
with ``--from-scratch``. Tests therefore run the same server through ``sandbox.localstripe``,
which binds 127.0.0.1 and keeps the store in memory only.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from stripe import StripeClient

from tests.support.net import free_port
from tests.support.processes import running_process

TEST_API_KEY = "sk_test_tests"
"""localstripe accepts any ``sk_test_`` key, but refuses requests without one."""
_AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}


@contextmanager
def running_localstripe(port: int | None = None, state_file: Path | None = None) -> Iterator[str]:
    """localstripe on 127.0.0.1 (a free port unless given); yields its base URL. Without a
    ``state_file`` it starts empty and forgets everything when stopped; with one, a restart on
    the same port picks up where the last run stopped, like Stripe after an outage."""
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "sandbox.localstripe",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if state_file is not None:
        command += ["--state-file", str(state_file)]
    with running_process(
        "localstripe",
        command,
        lambda: httpx.get(f"{base_url}/v1/balance", headers=_AUTH, timeout=1),
    ):
        yield base_url


def _client(base_url: str) -> StripeClient:
    return StripeClient(TEST_API_KEY, base_addresses={"api": base_url}, max_network_retries=0)


def create_card_payment_method(base_url: str, number: str) -> str:
    """What Stripe.js does in the browser: the card number goes to the provider, never to us."""
    method = _client(base_url).v1.payment_methods.create(
        {
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    return method.id


def authenticate_3ds(base_url: str, intent_id: str, client_secret: str, success: bool) -> None:
    """The customer passing (or failing) the 3-D Secure challenge at their bank."""
    response = httpx.post(
        f"{base_url}/v1/payment_intents/{intent_id}/_authenticate",
        data={"client_secret": client_secret, "success": "true" if success else "false"},
        headers=_AUTH,
    )
    response.raise_for_status()


def client_secret_of(base_url: str, intent_id: str) -> str:
    """The intent's client secret, as Stripe hands it to whoever holds the secret key."""
    secret = _client(base_url).v1.payment_intents.retrieve(intent_id).client_secret
    assert secret is not None
    return secret


def intent_statuses(base_url: str, payment_id: str) -> list[str]:
    """Statuses of every PaymentIntent localstripe holds for one Durapay payment: more than one
    means a retry created a second intent."""
    intents = _client(base_url).v1.payment_intents.list({"limit": 100}).auto_paging_iter()
    return [
        intent.status
        for intent in intents
        if intent.metadata.to_dict().get("durapay_payment_id") == payment_id
    ]


def register_webhook(base_url: str, endpoint_id: str, url: str, secret: str) -> None:
    """Have localstripe sign and POST its events to ``url`` (once each, about a second later)."""
    response = httpx.post(
        f"{base_url}/_config/webhooks/{endpoint_id}",
        data={"url": url, "secret": secret},
        headers=_AUTH,
    )
    response.raise_for_status()
