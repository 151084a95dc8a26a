"""Provider webhooks in: the raw body and its signature, handed to ``services.provider_webhooks``
(verify, store once, signal the payment's workflow)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request

from api.deps import RuntimeDep
from api.problems import problems
from services import errors, provider_webhooks
from services.provider_webhooks import Receipt

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

_WEBHOOK_PROBLEMS = problems(
    errors.InvalidSignature,
    errors.BadRequest,
    errors.DatabaseUnavailable,
    errors.ServiceUnavailable,
)
"""A forged or malformed event is refused; a valid one the database or Temporal cannot take yet
is a 503, which the provider retries."""


def _answer(receipt: Receipt) -> dict[str, Any]:
    return {"received": True, "duplicate": receipt.duplicate}


@router.post("/stripe", responses=_WEBHOOK_PROBLEMS)
async def stripe_webhook(
    request: Request,
    runtime: RuntimeDep,
    stripe_signature: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    payload = await request.body()
    return _answer(await provider_webhooks.receive_stripe(runtime, payload, stripe_signature))


@router.post("/paypal", responses=_WEBHOOK_PROBLEMS)
async def paypal_webhook(request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    payload = await request.body()
    return _answer(await provider_webhooks.receive_paypal(runtime, request.headers, payload))
