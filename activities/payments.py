"""Activities that call payment providers.

Each one is a single provider call carrying the idempotency key the workflow chose, so Temporal may
retry it freely. Declines come back as values; only failures raise. Every call goes through the
provider's circuit, so an outage is noticed, reported and routed around.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.providers.base import Provider
from activities.providers.circuit import CircuitBreaker
from contracts.errors import ErrorType
from contracts.providers import (
    AttachCall,
    AttachResult,
    CreateIntentCall,
    IntentCall,
    IntentResult,
    ProviderCustomerCall,
    ProviderName,
    RefundCall,
    RefundResult,
)
from db.repositories import customers as customers_repo
from db.repositories import held_tokens
from db.repositories import payments as payments_repo

T = TypeVar("T")


class PaymentActivities:
    """Provider calls, with the provider clients injected once by the worker. What a call needs
    that must not sit in Temporal (a customer's email and name, a card token) is read from the
    database here, at the moment of the call."""

    def __init__(
        self,
        providers: Mapping[ProviderName, Provider],
        circuits: CircuitBreaker,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        self._providers = providers
        self._circuits = circuits
        self._sessions = sessions

    async def _call(
        self, provider: ProviderName, operation: Callable[[Provider], Awaitable[T]]
    ) -> T:
        return await self._circuits.call(provider, lambda: operation(self._providers[provider]))

    @activity.defn(name="create_intent")
    async def create_intent(self, call: CreateIntentCall) -> IntentResult:
        """Create the payment's intent, unless one is already recorded against the payment at
        this provider: then it is read back. A workflow task that ran its local activities and
        was lost before it completed (its worker killed, say) runs them again, after its record
        step may already have written the intent; a provider that forgets idempotency keys
        (localstripe) would otherwise make a second intent."""
        async with self._sessions() as session:
            payment = await payments_repo.get_payment(session, call.request.payment_id)
        if payment is not None and payment.provider == call.provider.value:
            recorded = payment.provider_reference
            if recorded is not None:
                return await self._call(call.provider, lambda p: p.retrieve_intent(recorded))
        return await self._call(
            call.provider, lambda p: p.create_intent(call.request, call.idempotency_key)
        )

    @activity.defn(name="confirm_intent")
    async def confirm_intent(self, call: IntentCall) -> IntentResult:
        return await self._call(
            call.provider,
            lambda p: p.confirm_intent(call.reference, call.idempotency_key, call.off_session),
        )

    @activity.defn(name="retrieve_intent")
    async def retrieve_intent(self, call: IntentCall) -> IntentResult:
        return await self._call(call.provider, lambda p: p.retrieve_intent(call.reference))

    @activity.defn(name="capture_intent")
    async def capture_intent(self, call: IntentCall) -> IntentResult:
        amount = call.amount
        assert amount is not None, "a capture always names its amount"
        return await self._call(
            call.provider, lambda p: p.capture_intent(call.reference, amount, call.idempotency_key)
        )

    @activity.defn(name="cancel_intent")
    async def cancel_intent(self, call: IntentCall) -> IntentResult:
        return await self._call(
            call.provider, lambda p: p.cancel_intent(call.reference, call.idempotency_key)
        )

    @activity.defn(name="refund")
    async def refund(self, call: RefundCall) -> RefundResult:
        return await self._call(
            call.provider,
            lambda p: p.refund(call.reference, call.amount, call.idempotency_key, call.refund_id),
        )

    @activity.defn(name="ensure_provider_customer")
    async def ensure_provider_customer(self, call: ProviderCustomerCall) -> str:
        async with self._sessions() as session:
            customer = await customers_repo.get_customer(session, call.customer_id)
        if customer is None or customer.email is None:
            raise ApplicationError(
                f"customer {call.customer_id} is unknown or erased: nothing to send the provider",
                type=ErrorType.PROVIDER_INVALID_REQUEST,
                non_retryable=True,
            )
        email, name = customer.email, customer.name
        return await self._call(
            call.provider,
            lambda p: p.ensure_customer(call.customer_id, email, name, call.idempotency_key),
        )

    @activity.defn(name="attach_payment_method")
    async def attach_payment_method(self, call: AttachCall) -> AttachResult:
        """With no token in the call, the one held for the method: the reusable reference the
        provider answers is written back to the held row, not returned into the history."""
        if call.token is not None:
            return await self._attach(call, call.token)
        async with self._sessions() as session:
            held = await held_tokens.get(session, call.payment_method_id or "")
        if held is None:
            raise ApplicationError(
                f"no token held for payment method {call.payment_method_id}",
                type=ErrorType.PROVIDER_INVALID_REQUEST,
                non_retryable=True,
            )
        attached = await self._attach(call, held.token)
        if attached.details is None:
            return attached
        async with self._sessions() as session, session.begin():
            await held_tokens.set_reference(
                session, held.payment_method_id, attached.reference or held.token
            )
        return replace(attached, reference=None)

    async def _attach(self, call: AttachCall, token: str) -> AttachResult:
        return await self._call(
            call.provider,
            lambda p: p.attach_payment_method(
                call.provider_customer_ref, token, call.idempotency_key
            ),
        )
