"""``GET /v1/customers/{id}/statement``: the customer's movements from every line source, built
into a statement (``documents.statement``) and answered as JSON, CSV or PDF.

A line source reads one kind of movement of one customer in one currency, signed by the
statement's convention (see ``documents.statement``). ``LINE_SOURCES`` lists them; the ledger's
credits and wallet movements are one of them.

A wallet deposit is a payment, and a withdrawal is paid back by refunds: their money appears once,
as the wallet's ``deposit`` and ``withdrawal`` lines, so those payments and refunds are left out
of the payment and refund lines. Credits are the ledger currency ``CREDITS``: their lines make the
statement of ``currency=CREDITS`` (what a purchase cost in money is its payment's line).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.ledger import CREDITS
from db.repositories import invoices as invoices_repo
from db.repositories import ledger as ledger_repo
from db.repositories import ledger_moves as ledger_moves_repo
from db.repositories import payments as payments_repo
from documents.statement import Movement, MovementType, Statement, build_statement, statement_pdf
from money import ISO_4217
from services import errors
from services.ownership import own_customer
from services.runtime import Runtime

LineSource = Callable[[AsyncSession, str], Awaitable[list[tuple[str, Movement]]]]
"""``(session, customer_id)`` → ``(currency, movement)`` pairs of every currency."""

STATEMENT_INVOICE_STATUSES = frozenset({"open", "paid", "uncollectible"})
"""Invoices that charge the customer; a void invoice never did."""


async def payment_lines(session: AsyncSession, customer_id: str) -> list[tuple[str, Movement]]:
    """What each payment captured, in the customer's favour, when the payment was made."""
    return [
        (p.currency, Movement(p.created_at, "payment", p.id, p.amount_captured))
        for p in await payments_repo.payments_of_customer(session, customer_id)
        if p.amount_captured > 0
    ]


async def refund_lines(session: AsyncSession, customer_id: str) -> list[tuple[str, Movement]]:
    return [
        (r.currency, Movement(r.created_at, "refund", r.id, -r.amount))
        for r in await payments_repo.refunds_of_customer(session, customer_id)
        if r.status == "succeeded"
    ]


async def invoice_lines(session: AsyncSession, customer_id: str) -> list[tuple[str, Movement]]:
    return [
        (i.currency, Movement(i.created_at, "invoice", i.number or i.id, -i.amount_due))
        for i in await invoices_repo.invoices_of_customer(session, customer_id)
        if i.status in STATEMENT_INVOICE_STATUSES
    ]


LEDGER_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

LEDGER_LINE_TYPES: dict[str, MovementType] = {
    "credit": "credit",
    "deposit": "deposit",
    "withdrawal": "withdrawal",
}


async def ledger_lines(session: AsyncSession, customer_id: str) -> list[tuple[str, Movement]]:
    """Credits and wallet movements, each transaction's net effect on what the customer holds."""
    until = datetime.now(UTC) + timedelta(days=1)
    return [
        (currency, Movement(m.at, LEDGER_LINE_TYPES[m.type], m.reference, m.amount))
        for account_id, currency in await ledger_repo.statement_sources(session, customer_id)
        for m in await ledger_repo.ledger_movements(
            session, account_id, customer_id, currency, LEDGER_EPOCH, until
        )
    ]


LINE_SOURCES: list[LineSource] = [payment_lines, refund_lines, invoice_lines, ledger_lines]


async def movements_of(session: AsyncSession, customer_id: str) -> list[tuple[str, Movement]]:
    """Every movement of the customer, in every currency, from every line source; a wallet
    deposit's payment and a withdrawal's refunds are left to the ledger's own lines."""
    deposits, withdrawn = await ledger_moves_repo.wallet_payment_ids(session, customer_id)
    shown_by_ledger = {("payment", ref) for ref in deposits} | {
        ("refund", ref) for ref in withdrawn
    }
    return [
        (currency, movement)
        for source in LINE_SOURCES
        for currency, movement in await source(session, customer_id)
        if (movement.type, movement.reference) not in shown_by_ledger
    ]


async def customer_statement(
    runtime: Runtime,
    account_id: str,
    customer_id: str,
    *,
    start: datetime | None,
    end: datetime | None,
    currency: str | None,
) -> Statement:
    """The statement of one currency; without ``currency``, the customer's only one (422 when
    they have movements in several). ``end`` defaults to now."""
    if currency is not None and currency not in ISO_4217 and currency != CREDITS:
        raise errors.ValidationFailed(f"{currency} is neither an ISO 4217 code nor {CREDITS}.")
    until = end or datetime.now(UTC)
    if start is not None and start >= until:
        raise errors.ValidationFailed("from must be before to.")
    async with runtime.database.reading() as session:
        await own_customer(session, account_id, customer_id)
        movements = await movements_of(session, customer_id)
    currencies = {code for code, _ in movements}
    if currency is None:
        if len(currencies) > 1:
            raise errors.ValidationFailed(
                f"The customer has movements in {', '.join(sorted(currencies))}: pass currency."
            )
        currency = next(iter(currencies), "USD")
    return build_statement(
        customer_id,
        currency,
        (movement for code, movement in movements if code == currency),
        start=start,
        end=until,
    )


async def statement_pdf_of(runtime: Runtime, statement: Statement) -> bytes:
    return await asyncio.to_thread(statement_pdf, statement, runtime.settings.merchant_name)
