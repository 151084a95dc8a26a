"""Customers and their saved payment methods (tokens only, never card numbers)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.answers import created_or_found
from api.deps import OptionalIdempotencyKeyDep, PrincipalDep, RuntimeDep
from api.problems import problems
from api.schemas.customers import CustomerCreate, CustomerOut, PaymentMethodCreate, PaymentMethodOut
from services import customers, errors

router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": CustomerOut, "description": "The same Idempotency-Key and body again"},
        **problems(errors.IdempotencyKeyReused),
    },
)
async def create_customer(
    body: CustomerCreate,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    response: Response,
    idempotency_key: OptionalIdempotencyKeyDep,
) -> CustomerOut:
    """Create a customer. With an Idempotency-Key, repeating the call returns the same one."""
    outcome = await customers.create_customer(
        runtime,
        principal.account_id,
        email=body.email,
        name=body.name,
        metadata=body.metadata,
        idempotency_key=idempotency_key,
    )
    return created_or_found(CustomerOut, outcome, response)


@router.get("/{customer_id}", responses=problems(errors.NotFound))
async def get_customer(
    customer_id: str, principal: PrincipalDep, runtime: RuntimeDep
) -> CustomerOut:
    return CustomerOut.model_validate(
        await customers.get_customer(runtime, principal.account_id, customer_id)
    )


@router.post(
    "/{customer_id}/payment-methods",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": PaymentMethodOut, "description": "The same token, saved before"},
        **problems(
            errors.NotFound,
            errors.PaymentMethodDeclined,
            errors.InvalidPaymentMethod,
            errors.ServiceUnavailable,
        ),
    },
)
async def attach_payment_method(
    customer_id: str,
    body: PaymentMethodCreate,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    response: Response,
) -> PaymentMethodOut:
    """Save a provider token; the provider checks it (and may decline it) before we keep it."""
    outcome = await customers.attach_payment_method(
        runtime, principal.account_id, customer_id, body.provider, body.token
    )
    return created_or_found(PaymentMethodOut, outcome, response)


@router.get("/{customer_id}/payment-methods", responses=problems(errors.NotFound))
async def list_payment_methods(
    customer_id: str, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, object]:
    methods = await customers.list_payment_methods(runtime, principal.account_id, customer_id)
    return {"data": [PaymentMethodOut.model_validate(m) for m in methods], "has_more": False}


@router.post(
    "/{customer_id}/payment-methods/{method_id}/default", responses=problems(errors.NotFound)
)
async def set_default_payment_method(
    customer_id: str, method_id: str, principal: PrincipalDep, runtime: RuntimeDep
) -> PaymentMethodOut:
    return PaymentMethodOut.model_validate(
        await customers.set_default_payment_method(
            runtime, principal.account_id, customer_id, method_id
        )
    )


@router.delete("/{customer_id}/payment-methods/{method_id}", responses=problems(errors.NotFound))
async def delete_payment_method(
    customer_id: str, method_id: str, principal: PrincipalDep, runtime: RuntimeDep
) -> PaymentMethodOut:
    """Soft delete: past payments keep pointing at the method; new ones cannot use it."""
    return PaymentMethodOut.model_validate(
        await customers.delete_payment_method(runtime, principal.account_id, customer_id, method_id)
    )
