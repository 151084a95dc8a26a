"""A customer's statement: every movement of one currency between two moments, with a running
balance, its opening and closing balances, and totals per kind of movement.

Sign convention: an amount is positive when it moves in the customer's favour and negative when
it moves against them, so the balance is what the merchant holds for the customer (positive: the
customer is in credit) less what the customer owes (negative). Payments (+, what was captured),
refunds (−), invoices (−, the amount due when opened; a voided invoice is not a charge), credits
(+ granted, − used), wallet deposits (+) and withdrawals (−). A paid invoice and its payment
therefore cancel out.

``build_statement`` is pure: the database is read by ``services.statements`` through a list of
line sources, so a new kind of movement is one more source, not a change here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from documents.render import html_to_pdf, render_html

MovementType = Literal["payment", "refund", "invoice", "credit", "deposit", "withdrawal"]
MOVEMENT_TYPES: tuple[MovementType, ...] = get_args(MovementType)


@dataclass(frozen=True)
class Movement:
    """One signed movement (see the module's sign convention) as a line source reports it."""

    at: datetime
    type: MovementType
    reference: str
    amount: int


@dataclass(frozen=True)
class StatementLine:
    at: datetime
    type: MovementType
    reference: str
    amount: int
    balance: int
    """The balance after this line."""


@dataclass(frozen=True)
class Statement:
    customer_id: str
    currency: str
    start: datetime | None
    end: datetime
    opening_balance: int
    closing_balance: int
    lines: list[StatementLine]
    totals: dict[str, int]
    """The sum of the lines of each movement type, and ``net`` (closing - opening)."""


def build_statement(
    customer_id: str,
    currency: str,
    movements: Iterable[Movement],
    *,
    start: datetime | None,
    end: datetime,
) -> Statement:
    """Movements before ``start`` make the opening balance; those from ``start`` (inclusive) to
    ``end`` (exclusive) are the lines, in time order (ties by type and reference, so the same
    history always gives the same statement); later ones are left out."""
    ordered = sorted(movements, key=lambda m: (m.at, MOVEMENT_TYPES.index(m.type), m.reference))
    opening = sum(m.amount for m in ordered if start is not None and m.at < start)
    balance = opening
    lines: list[StatementLine] = []
    for movement in ordered:
        if (start is not None and movement.at < start) or movement.at >= end:
            continue
        balance += movement.amount
        lines.append(
            StatementLine(movement.at, movement.type, movement.reference, movement.amount, balance)
        )
    totals: dict[str, int] = {
        kind: sum(line.amount for line in lines if line.type == kind) for kind in MOVEMENT_TYPES
    }
    totals["net"] = balance - opening
    return Statement(customer_id, currency, start, end, opening, balance, lines, totals)


CSV_COLUMNS = ("at", "type", "reference", "amount", "balance")


def statement_csv(statement: Statement) -> str:
    """One row per line (amounts in minor units), framed by the opening and closing balances."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    start = statement.start.isoformat() if statement.start else ""
    writer.writerow([start, "opening_balance", "", "", statement.opening_balance])
    for line in statement.lines:
        writer.writerow([line.at.isoformat(), line.type, line.reference, line.amount, line.balance])
    writer.writerow(
        [statement.end.isoformat(), "closing_balance", "", "", statement.closing_balance]
    )
    return out.getvalue()


def statement_pdf(statement: Statement, merchant_name: str) -> bytes:
    return html_to_pdf(
        render_html("statement.html", statement=statement, merchant_name=merchant_name)
    )
