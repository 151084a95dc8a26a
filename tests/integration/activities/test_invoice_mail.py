"""The invoice mails of the billing activities against a real SMTP sink and SQLite: an opened
invoice is numbered and mailed with its PDF once, however often Temporal repeats the activity; a
paid one is mailed its receipt once; a mail the SMTP server could not take stays in the outbox and
the sweeper delivers it, once; an erased customer's attachments are gone with their address."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.billing import BillingActivities
from activities.customer_mail import CustomerMail
from activities.notify import SmtpRelay
from activities.outbox import Outbox, OutboxSweeper
from contracts.billing import InvoiceDraft, InvoiceLine, InvoiceStatus, InvoiceUpdate
from db.migrate import upgrade_to_head
from db.repositories import customers as customers_repo
from db.repositories import invoices as invoices_repo
from db.repositories import mail as mail_repo
from db.session import create_engine, create_session_factory
from tests.integration.db.test_repository import customer
from tests.support.documents import pdf_attachments, pdf_text
from tests.support.mail import received_messages, running_mail_sink
from tests.support.net import free_port

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MAIL_FROM = "billing@durapay.localhost"


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'durapay.db'}"
    await upgrade_to_head(url)
    engine = create_engine(url)
    factory = create_session_factory(engine)
    async with factory() as session, session.begin():
        await customers_repo.add_customer(session, customer("cus_1"))
    yield factory
    await engine.dispose()


def outbox(sessions: Sessions, port: int) -> Outbox:
    return Outbox(sessions, SmtpRelay("127.0.0.1", port), MAIL_FROM)


def billing(sessions: Sessions, port: int) -> BillingActivities:
    return BillingActivities(sessions, CustomerMail(outbox(sessions, port), "Durapay"))


def draft(invoice_id: str = "in_sub_1_0001", start: datetime = T0) -> InvoiceDraft:
    end = start + timedelta(days=31)
    return InvoiceDraft(
        invoice_id=invoice_id,
        subscription_id="sub_1",
        customer_id="cus_1",
        account_id="acct_1",
        currency="USD",
        lines=[
            InvoiceLine("Pro (monthly)", 2900, start, end),
            InvoiceLine("Tax 10%", 290, start, end),
        ],
        period_start=start,
        period_end=end,
        created_at=start,
    )


def paid(invoice_id: str = "in_sub_1_0001") -> InvoiceUpdate:
    return InvoiceUpdate(invoice_id, InvoiceStatus.PAID, 3190, 1, None, "pay_1", T0)


async def test_an_opened_invoice_is_mailed_with_its_pdf_once_and_its_receipt_once(
    sessions: Sessions, tmp_path: Path
) -> None:
    async with running_mail_sink(tmp_path / "mail") as sink:
        activities = billing(sessions, sink.port)
        first = await activities.open_invoice(draft())
        again = await activities.open_invoice(draft())
        await activities.update_invoice(paid())
        await activities.update_invoice(paid())
    assert first == again
    opened, receipt = received_messages(tmp_path / "mail")
    assert opened["To"] == "ada@example.com"
    assert opened["Subject"] == "Invoice INV-2026-000001 from Durapay: 31.90 USD"
    text = pdf_text(pdf_attachments(opened)["INV-2026-000001.pdf"])
    assert "INV-2026-000001" in text and "2.90 USD" in text and "31.90 USD" in text
    assert receipt["Subject"] == "Receipt for invoice INV-2026-000001: 31.90 USD paid"
    assert "PAID" in pdf_text(pdf_attachments(receipt)["INV-2026-000001.pdf"]).upper()


async def test_a_mail_smtp_refused_is_delivered_by_the_sweeper_once(
    sessions: Sessions, tmp_path: Path
) -> None:
    port = free_port()
    opened = await billing(sessions, port).open_invoice(draft())
    async with sessions() as session:
        pending = await mail_repo.get_mail(session, f"{opened.id}:opened")
    assert pending is not None and pending.status == "pending" and pending.attempts == 1

    async with running_mail_sink(tmp_path / "mail", port):
        sweeper = OutboxSweeper(
            outbox(sessions, port), sessions, interval=timedelta(seconds=1), grace=timedelta(0)
        )
        assert await sweeper.sweep() == 1
        assert await sweeper.sweep() == 0
        await billing(sessions, port).open_invoice(draft())
    [message] = received_messages(tmp_path / "mail")
    assert list(pdf_attachments(message)) == ["INV-2026-000001.pdf"]


async def test_a_recent_pending_mail_is_left_to_its_own_sender(sessions: Sessions) -> None:
    await billing(sessions, free_port()).open_invoice(draft())
    sweeper = OutboxSweeper(
        outbox(sessions, free_port()),
        sessions,
        interval=timedelta(seconds=1),
        grace=timedelta(hours=1),
    )
    assert await sweeper.sweep() == 0


async def test_erasing_the_customer_deletes_the_attachments_naming_them(
    sessions: Sessions, tmp_path: Path
) -> None:
    async with running_mail_sink(tmp_path / "mail") as sink:
        await billing(sessions, sink.port).open_invoice(draft())
    async with sessions() as session, session.begin():
        changed = await mail_repo.erase_recipient(session, "cus_1", "ada@example.com", "erased")
    assert changed == 1
    async with sessions() as session:
        assert await mail_repo.attachments_of(session, "in_sub_1_0001:opened") == []


async def test_a_crash_before_the_pdf_was_stored_is_made_good_by_the_retry(
    sessions: Sessions, tmp_path: Path
) -> None:
    async with running_mail_sink(tmp_path / "mail") as sink:
        mail = CustomerMail(outbox(sessions, sink.port), "Durapay")
        async with sessions() as session, session.begin():
            await BillingActivities(sessions).open_invoice(draft())
            invoice = await invoices_repo.get_invoice(session, "in_sub_1_0001")
            assert invoice is not None
            assert await mail.invoice_opened(session, invoice) is not None
        sweeper = OutboxSweeper(
            outbox(sessions, sink.port), sessions, interval=timedelta(seconds=1), grace=timedelta(0)
        )
        assert await sweeper.sweep() == 0, "a mail still preparing is not sent without its PDF"
        await billing(sessions, sink.port).open_invoice(draft())
    [message] = received_messages(tmp_path / "mail")
    assert list(pdf_attachments(message)) == ["INV-2026-000001.pdf"]
