"""Provider calls whose answers may be lost: how long they are repeated, and how they are resolved
afterwards, by lookup rather than by sending them again.

PayPal charges a vaulted wallet in the create call and forgets the request ID after 6 hours, so
that create is repeated (same request ID) for at most ``PAYPAL_CREATE_REPEAT_LIMIT``, well inside
PayPal's memory, whatever the outage limit says. After that it is never sent again: the charge it
may have made is looked up (``activities/payment_lookup.py``), and the payment takes what the
lookup finds, or fails without having charged anyone when the lookup is conclusive that there is
nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.payment_lookup import PaymentLookupActivities
    from activities.payments import PaymentActivities
    from contracts.payments import PaymentInput
    from contracts.providers import IntentCall, IntentResult, IntentStatus, ProviderName
    from contracts.reconciliation import LostChargeLookup
    from workflows.policies import guards
    from workflows.policies.provider_failures import charges_on_create, outlasted
    from workflows.policies.retries import PROVIDER_RETRY_POLICY

UNTOUCHED_BY_CALL = frozenset(
    {
        IntentStatus.REQUIRES_CAPTURE,
        IntentStatus.REQUIRES_CONFIRMATION,
        IntentStatus.REQUIRES_ACTION,
        IntentStatus.REQUIRES_PAYMENT_METHOD,
    }
)
"""What a provider object still shows when a capture or cancel never reached it."""

LOST_CREATE_PATCH = "lost-create-found-by-lookup"
"""Payments started before this change repeat the create after the outage limit, as they did."""

PAYPAL_ORDER_REQUEST_ID_LIFETIME = timedelta(hours=6)
PAYPAL_CREATE_REPEAT_LIMIT = PAYPAL_ORDER_REQUEST_ID_LIFETIME - timedelta(hours=1)
"""A create's repeats stop this long after the first: the last attempt then still reaches PayPal
while it remembers the request ID, even after a slow call and a skewed clock."""


def create_repeat_limit(payment: PaymentInput, provider: ProviderName) -> timedelta:
    """How long the create is repeated at ``provider`` before the payment gives up on it."""
    outage = payment.timeouts.provider_outage
    if charges_on_create(provider, payment.payment_method_ref) and workflow.patched(
        LOST_CREATE_PATCH
    ):
        return min(outage, PAYPAL_CREATE_REPEAT_LIMIT)
    return outage


async def find_lost_charge(payment: PaymentInput, provider: ProviderName) -> IntentResult | None:
    """What the create made at ``provider``, found by search; ``None`` when it made nothing."""
    found: IntentResult | None = await workflow.execute_activity_method(
        PaymentLookupActivities.find_lost_charge,
        LostChargeLookup(
            provider=provider,
            payment_id=payment.payment_id,
            created_at=payment.created_at,
            gave_up_at=workflow.now(),
        ),
        start_to_close_timeout=payment.timeouts.provider_call,
        retry_policy=PROVIDER_RETRY_POLICY,
    )
    return found


BOUNDED_MONEY_CALLS_PATCH = "bounded-capture-and-cancel"
"""Payments started before this change repeat a capture or cancel for as long as it fails."""


async def call_then_look_up(payment: PaymentInput, activity: Any, call: IntentCall) -> IntentResult:
    """A capture or cancel, repeated for at most the outage limit (the payment's lock is held
    meanwhile, so refunds and other updates wait behind it), then resolved by reading the
    provider object back instead of sending it again. When the provider still shows the object
    untouched, the call did not happen: the update is refused, and may be asked again later."""
    bounded = workflow.patched(BOUNDED_MONEY_CALLS_PATCH)
    try:
        answered: IntentResult = await workflow.execute_activity_method(
            activity,
            call,
            start_to_close_timeout=payment.timeouts.provider_call,
            schedule_to_close_timeout=payment.timeouts.provider_outage if bounded else None,
            retry_policy=PROVIDER_RETRY_POLICY,
        )
    except ActivityError as error:
        if not bounded or not outlasted(error):
            raise
        current: IntentResult = await workflow.execute_activity_method(
            PaymentActivities.retrieve_intent,
            replace(call, idempotency_key=""),
            start_to_close_timeout=payment.timeouts.provider_call,
            retry_policy=PROVIDER_RETRY_POLICY,
        )
        if current.status in UNTOUCHED_BY_CALL:
            raise guards.provider_unavailable(activity.__name__.removesuffix("_intent")) from None
        return current
    return answered
