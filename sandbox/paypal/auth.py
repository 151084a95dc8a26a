"""OAuth2 client credentials at ``POST /v1/oauth2/token``, answered like PayPal's token service."""

from __future__ import annotations

import base64
import binascii
import secrets
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.paypal.state import SandboxDep

router = APIRouter()

# PayPal's tokens live nine hours; the SDK refreshes them from ``expires_in``.
TOKEN_LIFETIME_SECONDS = 32400


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    """The token service answers in OAuth's shape, not the REST error shape."""
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


@router.post("/v1/oauth2/token")
async def token(request: Request, sandbox: SandboxDep) -> JSONResponse:
    """Issue a bearer token to the configured client id and secret (HTTP Basic)."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    try:
        client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        client_id, secret = "", ""
    config = sandbox.config
    if scheme.lower() != "basic" or (client_id, secret) != (config.client_id, config.client_secret):
        return _oauth_error(401, "invalid_client", "Client Authentication failed")
    form = parse_qs((await request.body()).decode())
    if form.get("grant_type") != ["client_credentials"]:
        return _oauth_error(400, "unsupported_grant_type", "Grant Type is NULL or not supported")
    access_token = "A21AA" + secrets.token_urlsafe(48)
    sandbox.store.access_tokens.add(access_token)
    return JSONResponse(
        {
            "scope": "https://uri.paypal.com/services/payments/payment "
            "https://uri.paypal.com/services/vault/payment-tokens/readwrite",
            "access_token": access_token,
            "token_type": "Bearer",
            "app_id": "APP-80W284485P519543T",
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "nonce": secrets.token_urlsafe(16),
        }
    )
