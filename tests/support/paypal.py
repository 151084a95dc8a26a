"""The PayPal sandbox for tests, and helpers that do what the buyer's browser would do to it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import httpx

from sandbox.paypal import SandboxConfig
from tests.support.processes import running_process

_DEFAULTS = SandboxConfig()
CLIENT_ID = _DEFAULTS.client_id
CLIENT_SECRET = _DEFAULTS.client_secret


@contextmanager
def running_paypal_sandbox(
    port: int,
    webhook_url: str | None = None,
    webhook_id: str | None = None,
    request_id_lifetime: float | None = None,
) -> Iterator[str]:
    """A fresh, empty PayPal sandbox process on 127.0.0.1:``port``; yields its base URL.
    ``request_id_lifetime``: seconds it remembers a ``PayPal-Request-Id`` (PayPal: 6 hours)."""
    base_url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "sandbox.paypal", "--host", "127.0.0.1", "--port", str(port)]
    if webhook_url is not None:
        command += ["--webhook-url", webhook_url]
    if webhook_id is not None:
        command += ["--webhook-id", webhook_id]
    if request_id_lifetime is not None:
        command += ["--request-id-lifetime", str(request_id_lifetime)]
    with running_process("the PayPal sandbox", command, lambda: access_token(base_url)):
        yield base_url


def access_token(base_url: str) -> str:
    """A bearer token for the sandbox's dev credentials, as the merchant's server would get."""
    response = httpx.post(
        f"{base_url}/v1/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=1,
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def buyer_clicks(action_url: str, action: str) -> str:
    """The buyer clicking ``approve`` or ``cancel`` on PayPal's page; returns where PayPal sends
    them back (the redirect is not followed)."""
    response = httpx.get(f"{action_url}&action={action}", follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]


def approved_setup_token(base_url: str) -> str:
    """What the merchant's front end and the buyer do to save a wallet: a vault setup token with a
    return URL, approved by the buyer; its id is the token Durapay's attach receives."""
    response = httpx.post(
        f"{base_url}/v3/vault/setup-tokens",
        json={
            "payment_source": {
                "paypal": {
                    "usage_type": "MERCHANT",
                    "usage_pattern": "IMMEDIATE",
                    "experience_context": {
                        "return_url": "https://shop.example/wallet/saved",
                        "cancel_url": "https://shop.example/wallet/canceled",
                    },
                },
            },
        },
        headers={"Authorization": f"Bearer {access_token(base_url)}"},
    )
    response.raise_for_status()
    setup_token = response.json()
    approve = next(link["href"] for link in setup_token["links"] if link["rel"] == "approve")
    buyer_clicks(approve, "approve")
    token_id: str = setup_token["id"]
    return token_id


def vaulted_wallet(base_url: str) -> str:
    """A buyer's wallet saved for merchant-initiated payments: its ``vault_id``."""
    response = httpx.post(
        f"{base_url}/v3/vault/payment-tokens",
        json={
            "payment_source": {
                "token": {"id": approved_setup_token(base_url), "type": "SETUP_TOKEN"}
            }
        },
        headers={"Authorization": f"Bearer {access_token(base_url)}"},
    )
    response.raise_for_status()
    vault_id: str = response.json()["id"]
    return vault_id


def captures_of(base_url: str, payment_id: str, start: datetime, end: datetime) -> list[str]:
    """The ids of every capture PayPal holds for one Durapay payment (its ``custom_id``), from
    PayPal's transaction search: more than one means the buyer was charged twice."""
    response = httpx.get(
        f"{base_url}/v1/reporting/transactions",
        params={
            "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_date": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        headers={"Authorization": f"Bearer {access_token(base_url)}"},
    )
    response.raise_for_status()
    return [
        info["transaction_id"]
        for detail in response.json()["transaction_details"]
        if (info := detail["transaction_info"]).get("custom_field") == payment_id
        and info["transaction_event_code"] == "T0006"
    ]
