"""Activities that call payment providers.

Each one is a single provider call carrying the idempotency key the workflow chose, so Temporal may
retry it freely. Declines come back as values; only failures raise. Every call goes through the
provider's circuit, so an outage is noticed, reported and routed around.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from temporalio import activity

from activities.providers.base import Provider
from activities.providers.circuit import CircuitBreaker
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

T = TypeVar("T")


class PaymentActivities:
    """Provider calls, with the provider clients injected once by the worker."""

    def __init__(
        self, providers: Mapping[ProviderName, Provider], circuits: CircuitBreaker
    ) -> None:
        self._providers = providers
        self._circuits = circuits

    async def _call(
        self, provider: ProviderName, operation: Callable[[Provider], Awaitable[T]]
    ) -> T:
        return await self._circuits.call(provider, lambda: operation(self._providers[provider]))

    @activity.defn(name="create_intent")
    async def create_intent(self, call: CreateIntentCall) -> IntentResult:
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
        return await self._call(
            call.provider,
            lambda p: p.ensure_customer(
                call.customer_id, call.email, call.name, call.idempotency_key
            ),
        )

    @activity.defn(name="attach_payment_method")
    async def attach_payment_method(self, call: AttachCall) -> AttachResult:
        return await self._call(
            call.provider,
            lambda p: p.attach_payment_method(
                call.provider_customer_ref, call.token, call.idempotency_key
            ),
        )
