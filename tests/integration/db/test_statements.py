"""Statements from stored rows, on both databases: random histories of payments (some failed),
refunds (some failed), invoices (some void) and ledger movements give a statement whose closing
balance is its opening balance plus its lines, and whose total is what the rows say it is."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.repositories import customers as customers_repo
from db.repositories import invoices as invoices_repo
from db.repositories import payments as payments_repo
from documents.statement import Movement, build_statement
from services.statements import movements_of
from tests.integration.db.test_invoice_numbers import invoice_row
from tests.integration.db.test_repository import customer, payment_values

T0 = datetime(2026, 1, 1, tzinfo=UTC)
END = T0 + timedelta(days=400)

hours = st.integers(min_value=0, max_value=300 * 24).map(lambda h: T0 + timedelta(hours=h))
amounts = st.integers(min_value=1, max_value=1_000_000)


@dataclass(frozen=True)
class PaymentCase:
    at: datetime
    amount: int
    succeeded: bool
    refunds: list[tuple[int, bool]]
    """(amount, succeeded) of each refund, while they fit in what was captured."""


@dataclass(frozen=True)
class InvoiceCase:
    at: datetime
    amount: int
    status: str


payment_cases = st.builds(
    PaymentCase,
    at=hours,
    amount=amounts,
    succeeded=st.booleans(),
    refunds=st.lists(st.tuples(amounts, st.booleans()), max_size=3),
)
invoice_cases = st.builds(
    InvoiceCase,
    at=hours,
    amount=amounts,
    status=st.sampled_from(("open", "paid", "void", "uncollectible")),
)
ledger_movements = st.builds(
    Movement,
    at=hours,
    type=st.sampled_from(("credit", "deposit", "withdrawal")),
    reference=st.just("ltx"),
    amount=st.integers(min_value=-1_000_000, max_value=1_000_000),
)


async def store(
    session: AsyncSession,
    customer_id: str,
    payments: list[PaymentCase],
    invoices: list[InvoiceCase],
) -> int:
    """Write the rows; what the statement must add up to over all time."""
    expected = 0
    for index, case in enumerate(payments):
        payment_id = f"pay_{customer_id}_{index}"
        captured = case.amount if case.succeeded else 0
        refunds, refunded, asked = [], 0, 0
        for number, (amount, succeeded) in enumerate(case.refunds):
            if asked + amount > captured:
                break
            asked += amount
            refunded += amount if succeeded else 0
            refunds.append(
                {
                    "id": f"re_{payment_id}_{number}",
                    "payment_id": payment_id,
                    "amount": amount,
                    "currency": "USD",
                    "status": "succeeded" if succeeded else "failed",
                    "reason": None,
                    "provider_reference": None,
                    "created_at": case.at + timedelta(hours=number + 1),
                    "updated_at": case.at + timedelta(hours=number + 1),
                }
            )
        await payments_repo.save_payment_snapshot(
            session,
            payment_values(
                payment_id,
                customer_id=customer_id,
                created_at=case.at,
                status="succeeded" if case.succeeded else "failed",
                currency="USD",
                amount=case.amount,
                amount_captured=captured,
                amount_refunded=refunded,
            ),
        )
        for refund in refunds:
            await payments_repo.save_refund(session, refund)
        expected += captured - refunded
    for index, invoice in enumerate(invoices):
        row = invoice_row(f"in_{customer_id}_{index}", "acct_1", invoice.at)
        row |= {"customer_id": customer_id, "amount_due": invoice.amount, "status": invoice.status}
        await invoices_repo.create_invoice(session, row)
        expected -= invoice.amount if invoice.status != "void" else 0
    return expected


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    payments=st.lists(payment_cases, max_size=6),
    invoices=st.lists(invoice_cases, max_size=6),
    ledger=st.lists(ledger_movements, max_size=6),
    start=hours,
)
async def test_closing_is_opening_plus_lines_for_stored_histories(
    sessions: async_sessionmaker[AsyncSession],
    payments: list[PaymentCase],
    invoices: list[InvoiceCase],
    ledger: list[Movement],
    start: datetime,
) -> None:
    customer_id = f"cus_{uuid.uuid4().hex[:12]}"
    async with sessions() as session, session.begin():
        await customers_repo.add_customer(session, customer(customer_id))
        expected = await store(session, customer_id, payments, invoices)
    async with sessions() as session:
        stored = [movement for _, movement in await movements_of(session, customer_id)]

    everything = build_statement(customer_id, "USD", [*stored, *ledger], start=None, end=END)
    assert everything.closing_balance == expected + sum(m.amount for m in ledger)
    statement = build_statement(customer_id, "USD", [*stored, *ledger], start=start, end=END)
    assert statement.closing_balance == statement.opening_balance + sum(
        line.amount for line in statement.lines
    )
    assert statement.closing_balance == everything.closing_balance
