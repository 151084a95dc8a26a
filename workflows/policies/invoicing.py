"""Billing periods and what an invoice says: where a period ends, its lines, its tax, and the
IDs of invoices and of the payments that charge them."""

from __future__ import annotations

import calendar
from datetime import datetime

from contracts.billing import InvoiceLine
from contracts.subscriptions import PlanInterval, PlanTerms
from workflows.policies.proration import Proration


def period_end(anchor: datetime, interval: PlanInterval, periods: int) -> datetime:
    """The end of the ``periods``-th period counted from ``anchor``, in calendar months or years.

    Always computed from the anchor, never from the previous end, so a subscription started on
    the 31st bills on the 28th/29th in February and on the 31st again in March.
    """
    months = periods * (12 if interval is PlanInterval.YEAR else 1)
    month_index = anchor.month - 1 + months
    year = anchor.year + month_index // 12
    month = month_index % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def tax_amount(subtotal: int, basis_points: int) -> int:
    """Tax on an invoice, rounded half up to the minor unit (a stated, single rounding)."""
    return (subtotal * basis_points + 5_000) // 10_000


def with_tax(
    lines: list[InvoiceLine], basis_points: int, start: datetime, end: datetime
) -> list[InvoiceLine]:
    """``lines`` plus a tax line on their total, when there is any tax to add."""
    tax = tax_amount(max(sum(line.amount for line in lines), 0), basis_points)
    if tax:
        rate = f"{basis_points // 100}.{basis_points % 100:02d}%"
        return [*lines, InvoiceLine(f"Tax {rate}", tax, start, end)]
    return lines


def period_lines(
    plan: PlanTerms, credit_balance: int, basis_points: int, start: datetime, end: datetime
) -> tuple[list[InvoiceLine], int]:
    """A period's lines: the plan, less any credit the customer holds, then tax on the rest; and
    how much of the credit they use up."""
    lines = [InvoiceLine(plan.name, plan.amount, start, end)]
    applied = min(credit_balance, plan.amount)
    if applied:
        lines.append(InvoiceLine("Credit from an earlier plan change", -applied, start, end))
    return with_tax(lines, basis_points, start, end), applied


def upgrade_lines(
    old: PlanTerms,
    new: PlanTerms,
    proration: Proration,
    basis_points: int,
    now: datetime,
    end: datetime,
) -> list[InvoiceLine]:
    """A mid-period upgrade's invoice: the old plan's unused rest credited, the new one's
    charged."""
    lines = [
        InvoiceLine(f"Unused time on {old.name}", -proration.credit, now, end),
        InvoiceLine(f"Remaining time on {new.name}", proration.charge, now, end),
    ]
    return with_tax(lines, basis_points, now, end)


def invoice_id(subscription_id: str, number: int) -> str:
    """The ``number``-th invoice of a subscription (period and plan-change invoices alike)."""
    return f"in_{subscription_id.removeprefix('sub_')}_{number:04d}"


def attempt_payment_id(invoice_id: str, attempt: int) -> str:
    """The payment charging ``invoice_id`` as ``attempt``: its ID is the invoice's at first."""
    return invoice_id if attempt == 1 else f"{invoice_id}_attempt{attempt}"
