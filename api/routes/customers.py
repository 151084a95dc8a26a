"""Customers and their saved payment methods (tokens only, never card numbers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.answers import created_or_found, found_again
from api.deps import AdminDep, OptionalIdempotencyKeyDep, PageQueryDep, PrincipalDep, RuntimeDep
from api.problems import problems
from api.schemas.common import Page, page_of
from api.schemas.customers import (
    CustomerCreate,
    CustomerExportOut,
    CustomerOut,
    CustomerUpdate,
    PaymentMethodCreate,
    PaymentMethodOut,
)
from services import customer_data, customers, errors
from services.customers import NewCustomer

router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        **found_again(CustomerOut),
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
    """Create a customer. With an Idempotency-Key, repeating the call returns the same one (200);
    the same key with another body is 409 ``idempotency_key_reused``."""
    outcome = await customers.create_customer(
        runtime, principal.account_id, NewCustomer(**body.model_dump()), idempotency_key
    )
    return created_or_found(CustomerOut, outcome, response)


@router.get("")
async def list_customers(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    paging: PageQueryDep,
    email: Annotated[str | None, Query(max_length=254)] = None,
) -> Page[CustomerOut]:
    """The account's customers, newest first; ``email`` keeps those with exactly that address."""
    rows, has_more = await customers.list_customers(
        runtime,
        principal.account_id,
        email=email,
        limit=paging.limit,
        starting_after=paging.starting_after,
    )
    return page_of(CustomerOut, rows, has_more)


@router.get("/{customer_id}", responses=problems(errors.NotFound))
async def get_customer(
    customer_id: str, principal: PrincipalDep, runtime: RuntimeDep
) -> CustomerOut:
    return CustomerOut.model_validate(
        await customers.get_customer(runtime, principal.account_id, customer_id)
    )


@router.patch("/{customer_id}", responses=problems(errors.NotFound, errors.InvalidState))
async def update_customer(
    customer_id: str, body: CustomerUpdate, principal: PrincipalDep, runtime: RuntimeDep
) -> CustomerOut:
    """Change the fields sent; an erased customer is 409 ``invalid_state``."""
    return CustomerOut.model_validate(
        await customers.update_customer(
            runtime, principal.account_id, customer_id, body.model_dump(exclude_unset=True)
        )
    )


@router.get("/{customer_id}/export", responses=problems(errors.NotFound))
async def export_customer(
    customer_id: str, principal: PrincipalDep, runtime: RuntimeDep
) -> CustomerExportOut:
    """Everything Durapay holds about the customer: profile, payment methods (deleted ones
    too), payments, refunds, subscriptions, invoices and the mails sent to them."""
    return CustomerExportOut.model_validate(
        await customer_data.export_customer(runtime, principal.account_id, customer_id)
    )


@router.post("/{customer_id}/erase", responses=problems(errors.NotFound, errors.InvalidState))
async def erase_customer(customer_id: str, admin: AdminDep, runtime: RuntimeDep) -> CustomerOut:
    """Erase the customer's email, name and metadata everywhere Durapay stores them (admin key
    of the customer's account). Payments, refunds, invoices and subscriptions stay, pointing at
    the erased customer. 409 ``invalid_state`` while a subscription of theirs still runs."""
    return CustomerOut.model_validate(
        await customer_data.erase_customer(runtime, admin.account_id, customer_id)
    )


@router.post(
    "/{customer_id}/payment-methods",
    status_code=status.HTTP_201_CREATED,
    responses={
        **found_again(PaymentMethodOut, "The same token, saved before"),
        **problems(
            errors.NotFound,
            errors.InvalidState,
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
