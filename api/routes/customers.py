"""Customers and their saved payment methods (tokens only, never card numbers)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Response, status
from temporalio.client import WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError

from api.deps import OptionalIdempotencyKeyDep, PrincipalDep, RuntimeDep, SessionDep
from api.schemas.customers import CustomerCreate, CustomerOut, PaymentMethodCreate, PaymentMethodOut
from api.views import customer_out, payment_method_out
from contracts.payment_methods import AttachPaymentMethodInput, AttachPaymentMethodResult
from contracts.providers import ProviderName
from contracts.workflow_names import WorkflowName
from db.models import Customer
from db.repositories import customers as customers_repo
from db.repositories import payment_methods as payment_methods_repo
from services import errors, temporal
from services.idempotency import derive_id, random_id

router = APIRouter(prefix="/v1/customers", tags=["customers"])


async def _own_customer(session: SessionDep, principal: PrincipalDep, customer_id: str) -> Customer:
    customer = await customers_repo.get_customer(session, customer_id, principal.account_id)
    if customer is None:
        raise errors.NotFound(f"No customer {customer_id}.")
    return customer


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_customer(
    body: CustomerCreate,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    idempotency_key: OptionalIdempotencyKeyDep,
) -> CustomerOut:
    """Create a customer. With an Idempotency-Key, repeating the call returns the same one."""
    customer_id = (
        derive_id("cus_", principal.account_id, "customer", idempotency_key)
        if idempotency_key
        else random_id("cus_")
    )
    existing = await customers_repo.get_customer(session, customer_id)
    if existing is not None:
        response.status_code = status.HTTP_200_OK
        return customer_out(existing)
    customer = Customer(
        id=customer_id,
        account_id=principal.account_id,
        email=body.email,
        name=body.name,
        metadata_=body.metadata,
        created_at=datetime.now(UTC),
    )
    inserted = await customers_repo.add_customer(session, customer)
    await session.commit()
    if not inserted:
        response.status_code = status.HTTP_200_OK
        raced = await customers_repo.get_customer(session, customer_id)
        assert raced is not None
        return customer_out(raced)
    return customer_out(customer)


@router.get("/{customer_id}")
async def get_customer(
    customer_id: str, session: SessionDep, principal: PrincipalDep
) -> CustomerOut:
    return customer_out(await _own_customer(session, principal, customer_id))


@router.post("/{customer_id}/payment-methods", status_code=status.HTTP_201_CREATED)
async def attach_payment_method(
    customer_id: str,
    body: PaymentMethodCreate,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    response: Response,
) -> PaymentMethodOut:
    """Save a provider token; the provider checks it (and may decline it) before we keep it."""
    customer = await _own_customer(session, principal, customer_id)
    provider = ProviderName(body.provider)
    method_id = derive_id("pm_", customer.id, body.provider, body.token)
    existing = await payment_methods_repo.get_payment_method(session, method_id)
    if existing is not None and existing.deleted_at is None:
        response.status_code = status.HTTP_200_OK
        return payment_method_out(existing)
    settings = runtime.settings
    try:
        result: AttachPaymentMethodResult = await runtime.client.execute_workflow(
            WorkflowName.ATTACH_PAYMENT_METHOD,
            AttachPaymentMethodInput(
                payment_method_id=method_id,
                customer_id=customer.id,
                customer_email=customer.email,
                customer_name=customer.name,
                provider_customer_ref=customer.reference_at(provider),
                provider=provider,
                token=body.token,
                provider_call_timeout_seconds=int(settings.provider_call_timeout.total_seconds()),
            ),
            id=f"attach_{method_id}",
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            static_summary=f"Save {body.provider} payment method for {customer.id}",
            result_type=AttachPaymentMethodResult,
        )
    except WorkflowFailureError:
        raise errors.ServiceUnavailable("The provider could not be reached; retry later.") from None
    except RPCError as error:
        raise temporal.rpc_error(error) from None
    if result.decline is not None:
        raise errors.PaymentMethodDeclined(
            result.decline.message, decline_code=result.decline.decline_code
        )
    if not result.attached:
        raise errors.InvalidPaymentMethod(result.invalid or "The provider rejected this token.")
    await session.rollback()
    saved = await payment_methods_repo.get_payment_method(session, method_id)
    assert saved is not None, "the attach workflow records the method before it returns"
    return payment_method_out(saved)


@router.get("/{customer_id}/payment-methods")
async def list_payment_methods(
    customer_id: str, session: SessionDep, principal: PrincipalDep
) -> dict[str, object]:
    customer = await _own_customer(session, principal, customer_id)
    methods = await payment_methods_repo.list_payment_methods(session, customer.id)
    return {"data": [payment_method_out(m) for m in methods], "has_more": False}


@router.post("/{customer_id}/payment-methods/{method_id}/default")
async def set_default_payment_method(
    customer_id: str, method_id: str, session: SessionDep, principal: PrincipalDep
) -> PaymentMethodOut:
    await _own_customer(session, principal, customer_id)
    method = await payment_methods_repo.set_default_payment_method(session, customer_id, method_id)
    await session.commit()
    if method is None:
        raise errors.NotFound(f"No payment method {method_id} for this customer.")
    return payment_method_out(method)


@router.delete("/{customer_id}/payment-methods/{method_id}")
async def delete_payment_method(
    customer_id: str, method_id: str, session: SessionDep, principal: PrincipalDep
) -> PaymentMethodOut:
    """Soft delete: past payments keep pointing at the method; new ones cannot use it."""
    await _own_customer(session, principal, customer_id)
    method = await payment_methods_repo.soft_delete_payment_method(session, customer_id, method_id)
    await session.commit()
    if method is None:
        raise errors.NotFound(f"No payment method {method_id} for this customer.")
    return payment_method_out(method)
