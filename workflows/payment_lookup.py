"""A payment's create, when its answers may be lost: how long it is repeated, and how it is
resolved afterwards.

PayPal charges a vaulted wallet in the create call and forgets the request ID after 6 hours, so
that create is repeated (same request ID) for at most ``PAYPAL_CREATE_REPEAT_LIMIT``, well inside
PayPal's memory, whatever the outage limit says. After that it is never sent again: the charge it
may have made is looked up (``activities/payment_lookup.py``), and the payment takes what the
lookup finds, or fails without having charged anyone when the lookup is conclusive that there is
nothing.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.payment_lookup import PaymentLookupActivities
    from contracts.payments import PaymentInput
    from contracts.providers import IntentResult, ProviderName
    from contracts.reconciliation import LostChargeLookup
    from workflows.policies.provider_failures import charges_on_create
    from workflows.policies.retries import PROVIDER_RETRY_POLICY

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
