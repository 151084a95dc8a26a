"""Turn database rows and workflow views into the public response models."""

from __future__ import annotations

from dataclasses import asdict

from api.schemas.invoices import InvoiceLineOut, InvoiceOut
from api.schemas.plans import PlanOut
from api.schemas.subscriptions import SubscriptionOut
from contracts.subscriptions import SubscriptionView
from db.models import (
    Invoice,
    Plan,
    Subscription,
)


def plan_out(row: Plan) -> PlanOut:
    return PlanOut(
        id=row.id,
        name=row.name,
        amount=row.amount,
        currency=row.currency,
        interval=row.interval,
        trial_days=row.trial_days,
    )


def invoice_out(row: Invoice) -> InvoiceOut:
    """Lines are stored as JSON with ISO 8601 period bounds; they are parsed back to timestamps so
    they render like every other time in the API."""
    return InvoiceOut(
        id=row.id,
        subscription_id=row.subscription_id,
        customer_id=row.customer_id,
        amount_due=row.amount_due,
        amount_paid=row.amount_paid,
        currency=row.currency,
        status=row.status,
        lines=[InvoiceLineOut.model_validate(line) for line in row.lines],
        attempt_count=row.attempt_count,
        next_payment_attempt=row.next_payment_attempt,
        created_at=row.created_at,
    )


def subscription_from_view(view: SubscriptionView) -> SubscriptionOut:
    """Public fields have the same names in the workflow view; internal ones are dropped."""
    scheduled = view.scheduled_plan.id if view.scheduled_plan else None
    return SubscriptionOut.model_validate(asdict(view) | {"scheduled_plan_id": scheduled})


def subscription_from_row(row: Subscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=row.id,
        status=row.status,
        plan_id=row.plan_id,
        scheduled_plan_id=row.scheduled_plan_id,
        customer_id=row.customer_id,
        payment_method_id=row.payment_method_id,
        current_period_start=row.current_period_start,
        current_period_end=row.current_period_end,
        trial_end=row.trial_end,
        cancel_at_period_end=row.cancel_at_period_end,
        entitled=row.entitled,
        latest_invoice_id=row.latest_invoice_id,
        past_due_since=row.past_due_since,
        created_at=row.created_at,
    )
