"""A subscription's public state: where it starts and which statuses end it."""

from __future__ import annotations

from contracts.subscriptions import SubscriptionInput, SubscriptionStatus, SubscriptionView

FINAL = frozenset({SubscriptionStatus.CANCELED, SubscriptionStatus.UNPAID})
"""Statuses a subscription never leaves: its workflow returns."""


def initial_view(subscription: SubscriptionInput) -> SubscriptionView:
    """The subscription before its first run has begun anything: ``incomplete``, not entitled."""
    created = subscription.created_at
    return SubscriptionView(
        id=subscription.subscription_id,
        account_id=subscription.account_id,
        customer_id=subscription.customer_id,
        plan_id=subscription.plan.id,
        payment_method_id=subscription.payment_method_id,
        status=SubscriptionStatus.INCOMPLETE,
        current_period_start=created,
        current_period_end=created,
        trial_end=None,
        cancel_at_period_end=False,
        entitled=False,
        latest_invoice_id=None,
        past_due_since=None,
        paused_at=None,
        canceled_at=None,
        created_at=created,
        updated_at=created,
        version=0,
    )
