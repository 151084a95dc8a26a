"""Settings turned into the terms a workflow obeys, copied into its input.

A workflow never reads settings: what it needs travels in its input, in whole seconds (Temporal's
JSON converter has no timedelta), and a later settings change does not reach workflows already
running.
"""

from __future__ import annotations

from contracts.payments import PaymentTimeouts
from contracts.subscriptions import BillingTerms, SubscriptionStatus
from settings import Settings


def payment_timeouts(settings: Settings) -> PaymentTimeouts:
    return PaymentTimeouts(
        action_seconds=int(settings.action_timeout.total_seconds()),
        authorization_expiry_seconds=int(settings.authorization_expiry.total_seconds()),
        refund_window_seconds=int(settings.refund_window.total_seconds()),
        provider_call_seconds=int(settings.provider_call_timeout.total_seconds()),
        provider_outage_seconds=int(settings.provider_outage_limit.total_seconds()),
        fallback_after_seconds=int(settings.provider_fallback_after.total_seconds()),
    )


def billing_terms(settings: Settings, plan_id: str, subscription_id: str) -> BillingTerms:
    """The settings a subscription obeys, copied into its workflow input: the workflow never
    reads settings, and a later settings change does not reach subscriptions already running."""
    return BillingTerms(
        payment=payment_timeouts(settings),
        tax_rate_basis_points=settings.tax_rate_basis_points,
        grace_seconds=int(settings.grace_period.total_seconds()),
        retry_days=list(
            settings.dunning_retry_days_by_plan.get(plan_id, settings.dunning_retry_days)
        ),
        final_status=SubscriptionStatus(settings.dunning_final_status),
        incomplete_expiry_seconds=int(settings.incomplete_expiry.total_seconds()),
        update_payment_method_url=settings.update_payment_method_url.format(
            subscription_id=subscription_id
        ),
    )
