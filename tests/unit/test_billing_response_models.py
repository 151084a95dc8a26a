"""Subscription, invoice and plan answers are built from attributes (``model_validate``): the
workflow's view and the projected row of one subscription answer the same JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.schemas.invoices import InvoiceOut
from api.schemas.plans import PlanOut
from api.schemas.subscriptions import SubscriptionOut
from contracts.subscriptions import PlanInterval, PlanTerms, SubscriptionStatus, SubscriptionView
from db.models import Invoice, Plan, Subscription

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
YEARLY = PlanTerms("pro_yearly", "Pro (yearly)", 29000, "USD", PlanInterval.YEAR)


def view(scheduled_plan: PlanTerms | None) -> SubscriptionView:
    return SubscriptionView(
        id="sub_1",
        account_id="acct_1",
        customer_id="cus_1",
        plan_id="pro_monthly",
        payment_method_id="pm_1",
        status=SubscriptionStatus.ACTIVE,
        current_period_start=T0,
        current_period_end=T0 + timedelta(days=31),
        trial_end=None,
        cancel_at_period_end=False,
        entitled=True,
        latest_invoice_id="in_1",
        past_due_since=None,
        paused_at=None,
        canceled_at=None,
        created_at=T0,
        updated_at=T0,
        version=3,
        scheduled_plan=scheduled_plan,
    )


def row(subscription: SubscriptionView) -> Subscription:
    return Subscription(
        id=subscription.id,
        account_id=subscription.account_id,
        customer_id=subscription.customer_id,
        plan_id=subscription.plan_id,
        scheduled_plan_id=subscription.scheduled_plan.id if subscription.scheduled_plan else None,
        payment_method_id=subscription.payment_method_id,
        status=subscription.status.value,
        current_period_start=subscription.current_period_start,
        current_period_end=subscription.current_period_end,
        trial_end=subscription.trial_end,
        cancel_at_period_end=subscription.cancel_at_period_end,
        entitled=subscription.entitled,
        latest_invoice_id=subscription.latest_invoice_id,
        past_due_since=subscription.past_due_since,
        paused_at=subscription.paused_at,
        canceled_at=subscription.canceled_at,
        version=subscription.version,
        created_at=subscription.created_at,
        updated_at=subscription.updated_at,
    )


@pytest.mark.parametrize("scheduled", [None, YEARLY], ids=["no change", "scheduled change"])
def test_a_subscription_answers_alike_from_its_view_and_its_row(
    scheduled: PlanTerms | None,
) -> None:
    from_view = SubscriptionOut.model_validate(view(scheduled)).model_dump(mode="json")
    from_row = SubscriptionOut.model_validate(row(view(scheduled))).model_dump(mode="json")

    assert from_view == from_row
    assert from_view["status"] == "active"
    assert from_view["scheduled_plan_id"] == (scheduled.id if scheduled else None)
    assert set(from_view) == set(SubscriptionOut.model_fields)


def test_invoice_lines_stored_as_json_answer_as_timestamps() -> None:
    invoice = Invoice(
        id="in_1",
        subscription_id="sub_1",
        customer_id="cus_1",
        account_id="acct_1",
        amount_due=2900,
        amount_paid=0,
        currency="USD",
        status="open",
        lines=[
            {
                "description": "Pro (monthly)",
                "amount": 2900,
                "period_start": T0.isoformat(),
                "period_end": (T0 + timedelta(days=31)).isoformat(),
            }
        ],
        period_start=T0,
        period_end=T0 + timedelta(days=31),
        attempt_count=1,
        next_payment_attempt=None,
        payment_id=None,
        created_at=T0,
        updated_at=T0,
    )

    answer = InvoiceOut.model_validate(invoice)

    assert answer.lines[0].period_start == T0
    assert answer.model_dump(mode="json")["lines"][0]["period_end"] == "2026-04-01T12:00:00Z"


def test_a_plan_answers_its_catalog_fields() -> None:
    plan = Plan(
        id="pro_monthly",
        name="Pro (monthly)",
        amount=2900,
        currency="USD",
        interval="month",
        trial_days=14,
        catalog_version=1,
    )

    assert PlanOut.model_validate(plan).model_dump() == {
        "id": "pro_monthly",
        "name": "Pro (monthly)",
        "amount": 2900,
        "currency": "USD",
        "interval": "month",
        "trial_days": 14,
    }
