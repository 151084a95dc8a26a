"""Payment links: the merchant's side (create, read, revoke). The customer's side is public."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.answers import created_or_found, found_again
from api.deps import IdempotencyKeyDep, PrincipalDep, RuntimeDep
from api.problems import problems
from api.schemas.payment_links import PaymentLinkCreate, PaymentLinkOut
from services import errors, links
from services.links import LinkRequest

router = APIRouter(prefix="/v1/payment-links", tags=["payment links"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        **found_again(PaymentLinkOut, "The same Idempotency-Key and body again (`url: null`)"),
        **problems(
            errors.IdempotencyKeyReused,
            errors.CustomerNotFound,
            errors.NotFound,
            errors.InvalidState,
            errors.CurrencyMismatch,
        ),
    },
)
async def create_payment_link(
    body: PaymentLinkCreate,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    response: Response,
) -> PaymentLinkOut:
    """A URL the customer pays through; its token is in ``url`` in this answer only."""
    outcome = await links.create_link(
        runtime, principal, LinkRequest(**body.model_dump()), idempotency_key
    )
    return created_or_found(PaymentLinkOut, outcome, response)


@router.get("/{link_id}", responses=problems(errors.NotFound))
async def get_payment_link(
    link_id: str, principal: PrincipalDep, runtime: RuntimeDep
) -> PaymentLinkOut:
    return PaymentLinkOut.model_validate(
        await links.get_link(runtime, principal.account_id, link_id)
    )


@router.delete("/{link_id}", responses=problems(errors.NotFound))
async def revoke_payment_link(
    link_id: str, principal: PrincipalDep, runtime: RuntimeDep
) -> PaymentLinkOut:
    """The link answers 410 ``link_expired`` from now on (a paid link stays ``used``)."""
    return PaymentLinkOut.model_validate(await links.revoke_link(runtime, principal, link_id))
