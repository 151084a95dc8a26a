"""Customers and their saved payment methods (provider tokens, never card numbers).

A method is saved by the ``AttachPaymentMethodWorkflow``: the provider checks the token (and may
decline the card) before Durapay keeps it. The customer is read in a session closed before that
workflow is started.

An erased customer (``services.customer_data``) keeps its row for the money records pointing at
it, but can no longer be changed, charged, subscribed or given a payment method: 409
``invalid_state``, so a client learns the customer exists but is gone, not that it mistyped an id.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.payment_methods import AttachPaymentMethodInput
from contracts.providers import ProviderName
from db.models import Customer, PaymentMethod
from db.repositories import customers as customers_repo
from db.repositories import held_tokens
from db.repositories import payment_methods as payment_methods_repo
from services import audit_trail, errors, temporal
from services.audit import mask_email
from services.idempotency import derive_id, random_id, request_hash
from services.outcome import Outcome
from services.ownership import own_customer, owned
from services.runtime import Runtime

_DURAPAY_METHOD_ID = re.compile(r"^pm_[a-z2-7]{24}$")
"""The shape of ``derive_id("pm_", …)``: a ``pm_`` id of any other shape is a provider's."""


@dataclass(frozen=True)
class NewCustomer:
    """A ``POST /v1/customers`` body; with an Idempotency-Key its fingerprint is kept, so the
    same key with another body is refused."""

    email: str
    name: str | None
    metadata: dict[str, str]
    kyc_tier: str | None


async def create_customer(
    runtime: Runtime, account_id: str, request: NewCustomer, idempotency_key: str | None
) -> Outcome[Customer]:
    """With an Idempotency-Key, repeating the call (even concurrently) finds the same customer."""
    if idempotency_key is None:
        customer_id, fingerprint = random_id("cus_"), None
    else:
        customer_id = derive_id("cus_", account_id, "customer", idempotency_key)
        fingerprint = request_hash(asdict(request))
    async with runtime.database.writing() as session:
        existing = await customers_repo.get_customer(session, customer_id)
        if existing is not None:
            return _found_again(existing, fingerprint)
        customer = Customer(
            id=customer_id,
            account_id=account_id,
            email=request.email,
            name=request.name,
            metadata_=request.metadata,
            kyc_tier=request.kyc_tier,
            request_hash=fingerprint,
            created_at=datetime.now(UTC),
        )
        if await customers_repo.add_customer(session, customer):
            await audit_trail.append_change(
                session,
                account_id=account_id,
                action="customer.create",
                resource_id=customer_id,
                outcome=201,
                details={"email": mask_email(request.email)},
            )
            return Outcome(customer, created=True)
    async with runtime.database.reading() as session:
        raced = await customers_repo.get_customer(session, customer_id)
    assert raced is not None, "a racing request with the same key inserted it"
    return _found_again(raced, fingerprint)


def _found_again(customer: Customer, fingerprint: str | None) -> Outcome[Customer]:
    """The customer an earlier request with this key made, as it is now (changed or erased since,
    perhaps). A customer created before fingerprints were kept, or erased, has none to compare."""
    if customer.request_hash is not None and customer.request_hash != fingerprint:
        raise errors.IdempotencyKeyReused()
    return Outcome(customer, created=False)


async def list_customers(
    runtime: Runtime,
    account_id: str,
    *,
    email: str | None,
    limit: int,
    starting_after: str | None,
) -> tuple[list[Customer], bool]:
    """A page of the account's customers, newest first, and whether more follow."""
    async with runtime.database.reading() as session:
        return await customers_repo.list_customers(
            session, account_id=account_id, email=email, limit=limit, starting_after=starting_after
        )


_COLUMNS = {"email": "email", "name": "name", "metadata": "metadata_", "kyc_tier": "kyc_tier"}
"""The fields a PATCH may send, and the attribute each one sets."""


async def update_customer(
    runtime: Runtime, account_id: str, customer_id: str, changes: Mapping[str, Any]
) -> Customer:
    """Set the fields sent (``null`` clears ``name`` or ``kyc_tier``; ``metadata`` replaces the
    whole mapping); fields left out stay as they are."""
    async with runtime.database.writing() as session:
        refuse_erased(await own_customer(session, account_id, customer_id))
        updated = await customers_repo.update_customer(
            session, customer_id, {_COLUMNS[field]: value for field, value in changes.items()}
        )
        assert updated is not None, "a customer is never deleted, only erased"
        refuse_erased(updated)
        await audit_trail.append_change(
            session,
            account_id=account_id,
            action="customer.update",
            resource_id=customer_id,
            outcome=200,
            details={"fields": ",".join(sorted(changes)), "email": mask_email(updated.email)},
        )
        return updated


def refuse_erased(customer: Customer) -> None:
    if customer.erased_at is not None:
        raise errors.InvalidState(
            f"Customer {customer.id} was erased at {customer.erased_at.isoformat()}: its records "
            "stay readable, but it can no longer be changed, charged or subscribed."
        )


async def customer_to_charge(session: AsyncSession, account_id: str, customer_id: str) -> Customer:
    """The customer a payment or subscription names: 422 ``customer_not_found`` when the account
    has none with that id, 409 ``invalid_state`` when it was erased."""
    customer = await customers_repo.get_customer(session, customer_id, account_id)
    if customer is None:
        raise errors.CustomerNotFound(f"No customer {customer_id}.")
    refuse_erased(customer)
    return customer


async def usable_method(
    session: AsyncSession,
    customer_id: str,
    method_id: str,
    missing: Callable[[str], errors.AppError],
) -> PaymentMethod:
    """A live saved method of the customer, or ``missing(detail)``. A Stripe PaymentMethod id
    (``pm_…`` too) sent where a saved method id belongs is named as such in the detail."""
    method = await payment_methods_repo.get_payment_method(session, method_id)
    if method is not None and method.customer_id == customer_id and method.deleted_at is None:
        return method
    if method is not None or _DURAPAY_METHOD_ID.match(method_id):
        raise missing(f"{method_id} is not a live saved payment method of {customer_id}.")
    saved_as = derive_id("pm_", customer_id, ProviderName.STRIPE, method_id)
    saved = await payment_methods_repo.get_payment_method(session, saved_as)
    hint = (
        f"use its saved payment method id {saved.id}"
        if saved is not None and saved.deleted_at is None
        else f"save it first with POST /v1/customers/{customer_id}/payment-methods "
        '{"provider": "stripe", "token": "…"} and pass the id that answers'
    )
    raise missing(
        f"{method_id} is not a Durapay payment method id (pm_ followed by 24 lower-case "
        f"characters); if it is a Stripe PaymentMethod, {hint}."
    )


async def get_customer(runtime: Runtime, account_id: str, customer_id: str) -> Customer:
    async with runtime.database.reading() as session:
        return await own_customer(session, account_id, customer_id)


async def attach_payment_method(
    runtime: Runtime, account_id: str, customer_id: str, provider: str, token: str
) -> Outcome[PaymentMethod]:
    """Save a provider token; saving the same token again finds the method saved before (200).
    A method deleted since is saved again (201): the provider checks the token once more, and
    the method comes back under its id, with its history."""
    method_id = derive_id("pm_", customer_id, provider, token)
    async with runtime.database.reading() as session:
        customer = await own_customer(session, account_id, customer_id)
        existing = await payment_methods_repo.get_payment_method(session, method_id)
    if existing is not None and existing.deleted_at is None:
        return Outcome(existing, created=False)
    refuse_erased(customer)
    async with runtime.database.writing() as session:
        await held_tokens.hold(session, method_id, token, datetime.now(UTC))
    settings = runtime.settings
    name = ProviderName(provider)
    result = await temporal.attach_payment_method(
        runtime.client,
        settings.task_queue,
        AttachPaymentMethodInput(
            payment_method_id=method_id,
            customer_id=customer.id,
            provider_customer_ref=customer.reference_at(name),
            provider=name,
            provider_call_timeout_seconds=int(settings.provider_call_timeout.total_seconds()),
        ),
        f"Save {provider} payment method for {customer.id}",
    )
    if not result.attached:
        async with runtime.database.writing() as session:
            await held_tokens.release(session, method_id)
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
        customer = await own_customer(session, account_id, customer_id)
        return await payment_methods_repo.list_payment_methods(session, customer.id)


async def set_default_payment_method(
    runtime: Runtime, account_id: str, customer_id: str, method_id: str
) -> PaymentMethod:
    return await _change_method(
        runtime,
        account_id,
        customer_id,
        method_id,
        payment_methods_repo.set_default_payment_method,
        "payment_method.set_default",
    )


async def delete_payment_method(
    runtime: Runtime, account_id: str, customer_id: str, method_id: str
) -> PaymentMethod:
    """Soft delete: past payments keep pointing at the method; new ones cannot use it."""
    return await _change_method(
        runtime,
        account_id,
        customer_id,
        method_id,
        payment_methods_repo.soft_delete_payment_method,
        "payment_method.delete",
    )


async def _change_method(
    runtime: Runtime,
    account_id: str,
    customer_id: str,
    method_id: str,
    change: Callable[[AsyncSession, str, str], Awaitable[PaymentMethod | None]],
    action: str,
) -> PaymentMethod:
    async with runtime.database.writing() as session:
        await own_customer(session, account_id, customer_id)
        changed = await owned(
            change(session, customer_id, method_id), f"payment method {method_id} for this customer"
        )
        await audit_trail.append_change(
            session,
            account_id=account_id,
            action=action,
            resource_id=method_id,
            outcome=200,
            details={"customer_id": customer_id},
        )
        return changed
