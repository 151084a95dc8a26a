"""Vault v3: setup tokens and payment tokens for saved PayPal wallets.

Create a setup token, let the buyer approve it on the sandbox page, then exchange it for a
payment token whose id is the ``vault_id`` of later merchant-initiated orders.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from sandbox.paypal import buyer
from sandbox.paypal.errors import invalid_request, unprocessable
from sandbox.paypal.protocol import json_body, once, paypal_api, reply, require
from sandbox.paypal.state import Sandbox, SandboxDep
from sandbox.paypal.store import Resource, new_id

router = APIRouter(dependencies=[Depends(paypal_api)])


def _token_id() -> str:
    """Payment token ids are short lower-case alphanumerics on PayPal."""
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))


def _customer(body: Resource) -> Resource:
    customer: Any = body.get("customer")
    if isinstance(customer, dict) and customer.get("id"):
        return {"id": str(customer["id"])}
    return {"id": "customer_" + "".join(secrets.choice(string.digits) for _ in range(10))}


def _wallet_request(body: Resource) -> Resource:
    source: Any = body.get("payment_source")
    paypal: Any = source.get("paypal") if isinstance(source, dict) else None
    if not isinstance(source, dict) or not source:
        raise invalid_request(
            "MISSING_REQUIRED_PARAMETER", "A required field is missing.", "/payment_source"
        )
    if not isinstance(paypal, dict):
        raise unprocessable(
            "PAYMENT_SOURCE_NOT_SUPPORTED", "The sandbox vaults PayPal wallets only."
        )
    return paypal


def _create_setup_token(sandbox: Sandbox, body: Resource) -> Resource:
    paypal = _wallet_request(body)
    token_id = new_id()
    context: Any = paypal.get("experience_context") or {}
    if isinstance(context, dict):
        sandbox.store.experience[token_id] = {
            key: context[key] for key in ("return_url", "cancel_url") if key in context
        }
    setup_token: Resource = {
        "id": token_id,
        "customer": _customer(body),
        "status": "PAYER_ACTION_REQUIRED",
        "payment_source": {
            "paypal": {
                key: paypal[key]
                for key in ("description", "usage_pattern", "usage_type", "customer_type")
                if key in paypal
            }
        },
        "links": [
            {
                "href": sandbox.url(f"/agreements/approve?approval_session_id={token_id}"),
                "rel": "approve",
                "method": "GET",
            },
            {"href": sandbox.url("/v3/vault/payment-tokens"), "rel": "confirm", "method": "POST"},
            {
                "href": sandbox.url(f"/v3/vault/setup-tokens/{token_id}"),
                "rel": "self",
                "method": "GET",
            },
        ],
    }
    sandbox.store.setup_tokens[token_id] = setup_token
    return setup_token


def _create_payment_token(sandbox: Sandbox, body: Resource) -> Resource:
    source: Any = body.get("payment_source")
    token: Any = source.get("token") if isinstance(source, dict) else None
    if not isinstance(token, dict) or token.get("type") != "SETUP_TOKEN":
        raise invalid_request(
            "MISSING_REQUIRED_PARAMETER",
            "payment_source.token with type SETUP_TOKEN is required.",
            "/payment_source/token",
        )
    setup_token = require(sandbox.store.setup_tokens.get(str(token.get("id"))))
    if setup_token["status"] == "VAULTED":
        raise unprocessable("SETUP_TOKEN_ALREADY_USED", "The setup token was already vaulted.")
    if setup_token["status"] != "APPROVED":
        raise unprocessable(
            "SETUP_TOKEN_NOT_APPROVED", "The buyer has not approved the setup token."
        )
    setup_token["status"] = "VAULTED"
    payment_token_id = _token_id()
    path = f"/v3/vault/payment-tokens/{payment_token_id}"
    wallet = buyer.wallet(sandbox)
    payment_token: Resource = {
        "id": payment_token_id,
        "customer": setup_token["customer"],
        "payment_source": {
            "paypal": {
                **setup_token["payment_source"]["paypal"],
                "email_address": wallet["email_address"],
                "payer_id": wallet["account_id"],
                "name": wallet["name"],
            }
        },
        "links": [
            {"href": sandbox.url(path), "rel": "self", "method": "GET"},
            {"href": sandbox.url(path), "rel": "delete", "method": "DELETE"},
        ],
    }
    sandbox.store.payment_tokens[payment_token_id] = payment_token
    sandbox.webhooks.emit(
        "VAULT.PAYMENT-TOKEN.CREATED",
        "payment_token",
        "A payment token has been created.",
        payment_token,
    )
    return payment_token


@router.post("/v3/vault/setup-tokens")
async def create_setup_token(request: Request, sandbox: SandboxDep) -> Response:
    """Start saving a wallet; the buyer approves at the ``approve`` link."""
    body = await json_body(request)
    return once(request, sandbox, lambda: (201, _create_setup_token(sandbox, body)))


@router.get("/v3/vault/setup-tokens/{token_id}")
async def get_setup_token(request: Request, sandbox: SandboxDep, token_id: str) -> Response:
    """Show a setup token and its approval status."""
    return reply(request, 200, require(sandbox.store.setup_tokens.get(token_id)))


@router.post("/v3/vault/payment-tokens")
async def create_payment_token(request: Request, sandbox: SandboxDep) -> Response:
    """Exchange an approved setup token for a reusable payment token."""
    body = await json_body(request)
    return once(request, sandbox, lambda: (201, _create_payment_token(sandbox, body)))


@router.get("/v3/vault/payment-tokens/{token_id}")
async def get_payment_token(request: Request, sandbox: SandboxDep, token_id: str) -> Response:
    """Show a saved payment token."""
    return reply(request, 200, require(sandbox.store.payment_tokens.get(token_id)))


@router.delete("/v3/vault/payment-tokens/{token_id}")
async def delete_payment_token(sandbox: SandboxDep, token_id: str) -> Response:
    """Forget a saved payment token; later orders with its ``vault_id`` are refused."""
    require(sandbox.store.payment_tokens.pop(token_id, None))
    return Response(status_code=204)
