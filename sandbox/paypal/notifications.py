"""Webhook-side endpoints: the signing certificate, PayPal's verification call, and the
sandbox's own ``/_config/webhooks`` to point deliveries at a receiver while running."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from sandbox.paypal.errors import invalid_request
from sandbox.paypal.protocol import json_body, paypal_api
from sandbox.paypal.state import SandboxDep
from sandbox.paypal.webhooks import CA_PATH, CERT_PATH

router = APIRouter()


@router.get(CERT_PATH)
async def certificate(sandbox: SandboxDep) -> Response:
    """The PEM chain named in every delivery's ``PAYPAL-CERT-URL``: the signing certificate,
    then its intermediate."""
    return Response(sandbox.webhooks.certificate_pem, media_type="application/x-pem-file")


@router.get(CA_PATH)
async def root_certificate(sandbox: SandboxDep) -> Response:
    """The root the signing certificate chains to: what a receiver trusts for this sandbox (in
    place of the public roots PayPal's certificates chain to)."""
    return Response(sandbox.webhooks.root_pem, media_type="application/x-pem-file")


@router.post("/v1/notifications/verify-webhook-signature", dependencies=[Depends(paypal_api)])
async def verify_webhook_signature(request: Request, sandbox: SandboxDep) -> JSONResponse:
    """PayPal's online verification: SUCCESS only for an unaltered delivery of this sandbox."""
    fields = await json_body(request)
    verified = sandbox.webhooks.verify(fields)
    return JSONResponse({"verification_status": "SUCCESS" if verified else "FAILURE"})


@router.post("/_config/webhooks")
async def configure_webhooks(request: Request, sandbox: SandboxDep) -> JSONResponse:
    """Set (or, with ``"url": null``, clear) the receiver URL and the webhook id signed for."""
    body = await json_body(request)
    url, webhook_id = body.get("url"), body.get("webhook_id", sandbox.webhooks.webhook_id)
    if (url is not None and not isinstance(url, str)) or not isinstance(webhook_id, str):
        raise invalid_request(
            "INVALID_PARAMETER_VALUE", "url and webhook_id must be strings.", "/url"
        )
    sandbox.webhooks.url = url
    sandbox.webhooks.webhook_id = webhook_id
    return JSONResponse({"url": url, "webhook_id": webhook_id})
