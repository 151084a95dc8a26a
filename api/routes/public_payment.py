"""The customer portal: routes authenticated by a payment link's token alone (no API key)."""

from __future__ import annotations

from typing import Annotated

from asgi_correlation_id import correlation_id
from fastapi import APIRouter, Depends, Path, Request, status

from api.deps import RuntimeDep
from api.problems import problems
from api.schemas.customers import PaymentMethodCreate, PaymentMethodOut
from api.schemas.payment_links import (
    CardSetupOut,
    LinkDueOut,
    LinkHistoryOut,
    LinkIntentCreate,
    LinkPaymentOut,
)
from services import errors, link_portal
from services.link_portal import IntentRequest, PublicCaller

router = APIRouter(prefix="/v1/public/payment/{token}", tags=["customer portal"])

SPENT = (errors.NotFound, errors.LinkExpired, errors.LinkUsed)
"""What every public route may answer: no such link (404), or a link that is spent (410)."""


def public_caller(
    request: Request, token: Annotated[str, Path(min_length=1, max_length=128)]
) -> PublicCaller:
    """The token, and where the request came from, for the audit log."""
    return PublicCaller(
        token=token,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        request_id=correlation_id.get(),
    )


CallerDep = Annotated[PublicCaller, Depends(public_caller)]


@router.get("", responses=problems(*SPENT))
async def view_payment_link(caller: CallerDep, runtime: RuntimeDep) -> LinkDueOut:
    """What is due, to whom, and the latest attempt. A paid link answers 410 ``link_used`` with
    its ``receipt``."""
    return LinkDueOut.model_validate(await link_portal.view_link(runtime, caller))


@router.post(
    "/intent",
    responses=problems(
        *SPENT,
        errors.PaymentMethodNotFound,
        errors.ProviderNotAvailable,
        errors.IdempotencyKeyReused,
        errors.ProviderError,
        errors.ServiceUnavailable,
    ),
)
async def start_link_payment(
    body: LinkIntentCreate, caller: CallerDep, runtime: RuntimeDep
) -> LinkPaymentOut:
    """Start the one payment this link makes, or answer the one under way. A failed attempt
    (a declined card) leaves the link open: the next call starts a new payment."""
    payment = await link_portal.start_payment(
        runtime, caller, IntentRequest(body.payment_method_id, body.provider)
    )
    return LinkPaymentOut.model_validate(payment)


@router.post("/card-setup", responses=problems(*SPENT, errors.ProviderError))
async def start_card_setup(caller: CallerDep, runtime: RuntimeDep) -> CardSetupOut:
    """A Stripe SetupIntent's client secret: Stripe.js makes the typed card a PaymentMethod
    (the card number goes to Stripe only), which ``POST …/methods`` then saves."""
    return CardSetupOut(client_secret=await link_portal.card_setup(runtime, caller))


@router.get("/history", responses=problems(*SPENT))
async def payment_history(caller: CallerDep, runtime: RuntimeDep) -> LinkHistoryOut:
    """The customer's latest payments, newest first."""
    rows = await link_portal.history(runtime, caller)
    return LinkHistoryOut(data=[LinkPaymentOut.model_validate(row) for row in rows])


@router.get("/methods", responses=problems(*SPENT))
async def list_methods(caller: CallerDep, runtime: RuntimeDep) -> dict[str, object]:
    methods = await link_portal.list_methods(runtime, caller)
    return {"data": [PaymentMethodOut.model_validate(m) for m in methods], "has_more": False}


@router.post(
    "/methods",
    status_code=status.HTTP_201_CREATED,
    responses=problems(
        *SPENT, errors.PaymentMethodDeclined, errors.InvalidPaymentMethod, errors.InvalidState
    ),
)
async def save_method(
    body: PaymentMethodCreate, caller: CallerDep, runtime: RuntimeDep
) -> PaymentMethodOut:
    """Save the PaymentMethod Stripe.js made from the typed card as the customer's."""
    method = await link_portal.save_method(runtime, caller, body.provider, body.token)
    return PaymentMethodOut.model_validate(method)


@router.delete("/methods/{method_id}", responses=problems(*SPENT))
async def delete_method(method_id: str, caller: CallerDep, runtime: RuntimeDep) -> PaymentMethodOut:
    return PaymentMethodOut.model_validate(
        await link_portal.delete_method(runtime, caller, method_id)
    )


@router.post("/methods/{method_id}/default", responses=problems(*SPENT))
async def make_default_method(
    method_id: str, caller: CallerDep, runtime: RuntimeDep
) -> PaymentMethodOut:
    return PaymentMethodOut.model_validate(
        await link_portal.make_default_method(runtime, caller, method_id)
    )
