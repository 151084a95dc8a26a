"""Subscriptions whose renewal falls due seconds from now, for tests on the real Temporal server.

A subscription is started already a period old but for a few seconds (``created_at`` one
calendar period back), so its first period is billed at once and its renewal falls due while the
test watches, without a time-skipping server that would hide real timers and retries.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import replace
from datetime import datetime

from contracts.subscriptions import PlanInterval, PlanTerms, SubscriptionInput
from tests.support.subscriptions import PRO_MONTHLY, TERMS
from workflows.policies.invoicing import period_end

CONFIRM = r"/v1/payment_intents/[^/]+/confirm"
"""Stripe's confirm path, for fault-proxy rules: the call that moves a renewal's money."""
PRO_YEARLY = PlanTerms("pro_yearly", "Pro", 29000, "USD", PlanInterval.YEAR)
CRASH_TERMS = replace(TERMS, payment=replace(TERMS.payment, provider_call_seconds=3))
"""A killed worker's provider call is retried once its start-to-close timeout passes."""


def one_period_before(end: datetime) -> tuple[PlanTerms, datetime]:
    """A Pro plan and a start whose first period ends exactly at ``end``. Monthly, unless the
    month before has no such day (``end`` on 29–31 March): no monthly start ends there, so yearly
    then, whose only such gap (29 February) a monthly start reaches from January."""
    for plan in (PRO_MONTHLY, PRO_YEARLY):
        months = 12 if plan.interval is PlanInterval.YEAR else 1
        year, month_index = divmod(end.year * 12 + end.month - 1 - months, 12)
        day = min(end.day, calendar.monthrange(year, month_index + 1)[1])
        start = end.replace(year=year, month=month_index + 1, day=day)
        if period_end(start, plan.interval, 1) == end:
            return plan, start
    raise AssertionError(f"no Pro period ends at {end}")


def renewing_at(renews_at: datetime, customer_id: str, method_id: str) -> SubscriptionInput:
    """A Pro subscription, paid by card, whose first period ends (and renews) at ``renews_at``."""
    plan, created_at = one_period_before(renews_at)
    return SubscriptionInput(
        subscription_id=f"sub_{uuid.uuid4().hex[:16]}",
        account_id="acct_dev",
        customer_id=customer_id,
        plan=plan,
        trial_days=0,
        billing=CRASH_TERMS,
        created_at=created_at,
        payment_method_id=method_id,
    )
