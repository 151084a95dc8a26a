"""Customers and their saved payment methods (provider tokens, never card numbers).

A method is saved by the ``AttachPaymentMethodWorkflow``: the provider checks the token (and may
decline the card) before Durapay keeps it. The customer is read in a session closed before that
workflow is started.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.payment_methods import AttachPaymentMethodInput
from contracts.providers import ProviderName
from db.models import Customer, PaymentMethod
from db.repositories import customers as customers_repo
from db.repositories import payment_methods as payment_methods_repo
from services import errors, temporal
from services.idempotency import derive_id, random_id
from services.outcome import Outcome
from services.ownership import owned
from services.runtime import Runtime


async def create_customer(
    runtime: Runtime,
    account_id: str,
    *,
    email: str,
    name: str | None,
    metadata: dict[str, str],
    idempotency_key: str | None,
) -> Outcome[Customer]:
    """With an Idempotency-Key, repeating the call (even concurrently) finds the same customer."""
    customer_id = (
        derive_id("cus_", account_id, "customer", idempotency_key)
        if idempotency_key
        else random_id("cus_")
    )
    async with runtime.database.writing() as session:
        existing = await customers_repo.get_customer(session, customer_id)
        if existing is not None:
            return Outcome(existing, created=False)
        customer = Customer(
            id=customer_id,
            account_id=account_id,
            email=email,
            name=name,
            metadata_=metadata,
            created_at=datetime.now(UTC),
        )
        if await customers_repo.add_customer(session, customer):
            return Outcome(customer, created=True)
    async with runtime.database.reading() as session:
        raced = await customers_repo.get_customer(session, customer_id)
    assert raced is not None, "a racing request with the same key inserted it"
    return Outcome(raced, created=False)


async def _own_customer(session: AsyncSession, account_id: str, customer_id: str) -> Customer:
    return await owned(
        customers_repo.get_customer(session, customer_id, account_id), f"customer {customer_id}"
    )


async def get_customer(runtime: Runtime, account_id: str, customer_id: str) -> Customer:
    async with runtime.database.reading() as session:
        return await _own_customer(session, account_id, customer_id)


async def attach_payment_method(
    runtime: Runtime, account_id: str, customer_id: str, provider: str, token: str
) -> Outcome[PaymentMethod]:
    """Save a provider token; saving the same token again finds the method saved before."""
    method_id = derive_id("pm_", customer_id, provider, token)
    async with runtime.database.reading() as session:
        customer = await _own_customer(session, account_id, customer_id)
        existing = await payment_methods_repo.get_payment_method(session, method_id)
    if existing is not None and existing.deleted_at is None:
        return Outcome(existing, created=False)
    settings = runtime.settings
    name = ProviderName(provider)
    result = await temporal.attach_payment_method(
        runtime.client,
        settings.task_queue,
        AttachPaymentMethodInput(
            payment_method_id=method_id,
            customer_id=customer.id,
            customer_email=customer.email,
            customer_name=customer.name,
            provider_customer_ref=customer.reference_at(name),
            provider=name,
            token=token,
            provider_call_timeout_seconds=int(settings.provider_call_timeout.total_seconds()),
        ),
        f"Save {provider} payment method for {customer.id}",
    )
    if result.decline is not None:
        raise errors.PaymentMethodDeclined(
            result.decline.message, decline_code=result.decline.decline_code
        )
    if not result.attached:
        raise errors.InvalidPaymentMethod(result.invalid or "The provider rejected this token.")
    async with runtime.database.reading() as session:
        saved = await payment_methods_repo.get_payment_method(session, method_id)
    assert saved is not None, "the attach workflow records the method before it returns"
    return Outcome(saved, created=True)


async def list_payment_methods(
    runtime: Runtime, account_id: str, customer_id: str
) -> list[PaymentMethod]:
    """The customer's live methods, newest first."""
    async with runtime.database.reading() as session:
        customer = await _own_customer(session, account_id, customer_id)
        return await payment_methods_repo.list_payment_methods(session, customer.id)


async def set_default_payment_method(
    runtime: Runtime, account_id: str, customer_id: str, method_id: str
) -> PaymentMethod:
    return await _change_method(
        runtime, account_id, customer_id, method_id, payment_methods_repo.set_default_payment_method
    )


async def delete_payment_method(
    runtime: Runtime, account_id: str, customer_id: str, method_id: str
) -> PaymentMethod:
    """Soft delete: past payments keep pointing at the method; new ones cannot use it."""
    return await _change_method(
        runtime, account_id, customer_id, method_id, payment_methods_repo.soft_delete_payment_method
    )


async def _change_method(
    runtime: Runtime,
    account_id: str,
    customer_id: str,
    method_id: str,
    change: Callable[[AsyncSession, str, str], Awaitable[PaymentMethod | None]],
) -> PaymentMethod:
    async with runtime.database.writing() as session:
        await _own_customer(session, account_id, customer_id)
        return await owned(
            change(session, customer_id, method_id), f"payment method {method_id} for this customer"
        )
