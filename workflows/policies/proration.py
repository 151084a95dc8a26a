"""Proration: what part of a period's price has been used, and what a change or a cancel gives
back. One rounding rule for all of it, so the pieces of a period always add up to its price."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contracts.subscriptions import PeriodCharge, UnusedTimeRefund


def consumed(amount: int, period_seconds: int, elapsed_seconds: int) -> int:
    """How much of a period's ``amount`` has been used after ``elapsed_seconds``.

    Rounding rule: always ``floor(amount * elapsed / period)`` of the *cumulative* time. Every
    proration below is a difference of two such values, so the pieces of a period always add up to
    the whole amount: no cent is created or lost, however many times the plan changes.
    """
    if period_seconds <= 0:
        raise ValueError("a billing period must have a positive length")
    elapsed = min(max(elapsed_seconds, 0), period_seconds)
    return amount * elapsed // period_seconds


@dataclass(frozen=True)
class Proration:
    """A mid-period plan change: credit for the old plan's unused rest, charge for the new one's."""

    credit: int
    charge: int

    @property
    def net(self) -> int:
        """Positive: charge now (upgrade). Negative: credit the next invoice (downgrade)."""
        return self.charge - self.credit


def prorate(
    old_amount: int, new_amount: int, period_seconds: int, elapsed_seconds: int
) -> Proration:
    """Switch plans ``elapsed_seconds`` into a period of ``period_seconds``."""
    return Proration(
        credit=old_amount - consumed(old_amount, period_seconds, elapsed_seconds),
        charge=new_amount - consumed(new_amount, period_seconds, elapsed_seconds),
    )


def seconds_between(start: datetime, end: datetime) -> int:
    """Whole seconds from ``start`` to ``end``, the unit every proration counts in."""
    return int((end - start).total_seconds())


def unused_time_refunds(
    subscription_id: str, charges: list[PeriodCharge], used_until: datetime
) -> list[UnusedTimeRefund]:
    """What a cancel now gives back for the current period: of each payment for it, the part for
    the time not used by ``used_until``, rounded down the same way as a proration, so refund and
    use add up to what was paid."""
    refunds = []
    for charge in charges:
        length = seconds_between(charge.start, charge.end)
        elapsed = seconds_between(charge.start, used_until)
        unused = charge.amount - consumed(charge.amount, length, elapsed)
        if unused > 0:
            refunds.append(
                UnusedTimeRefund(
                    payment_id=charge.payment_id,
                    refund_id=f"re_{charge.payment_id.removeprefix('in_')}_unused",
                    amount=unused,
                    reason=f"{subscription_id} canceled: unused time until {charge.end}",
                )
            )
    return refunds
