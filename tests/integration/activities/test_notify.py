"""send_mail against a real SMTP sink and a real SQLite database: a mail reaches the customer once
per key, whatever retries, repeats or an unreachable server do to the call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import aiosmtplib
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError

from activities.notify import NotifyActivities, SmtpRelay, message_id
from contracts.errors import ErrorType
from contracts.mail import MailRequest, MailTemplate
from db.migrate import upgrade_to_head
from db.models import Customer
from db.repositories import customers as customers_repo
from db.repositories import mail as mail_repo
from db.session import create_engine, create_session_factory
from tests.support.mail import received_messages, running_mail_sink
from tests.support.net import free_port

Sessions = async_sessionmaker[AsyncSession]

MAIL_FROM = "billing@durapay.localhost"
UPDATE_URL = "https://durapay.example/billing/sub_1/payment-method"


def request(
    key: str = "sub_1:payment_failed", template: MailTemplate = MailTemplate.PAYMENT_FAILED
) -> MailRequest:
    return MailRequest(
        key=key,
        to="ada@example.com",
        template=template,
        context={
            "plan_name": "Pro (monthly)",
            "amount": "2900",
            "currency": "USD",
            "update_payment_method_url": UPDATE_URL,
        },
    )


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'durapay.db'}"
    await upgrade_to_head(url)
    engine = create_engine(url)
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    return tmp_path / "mail"


def notify(sessions: Sessions, port: int) -> NotifyActivities:
    return NotifyActivities(sessions, SmtpRelay("127.0.0.1", port), MAIL_FROM)


async def test_mail_reaches_the_customer_with_subject_amount_and_link(
    sessions: Sessions, mail_dir: Path
) -> None:
    async with running_mail_sink(mail_dir) as sink:
        assert await notify(sessions, sink.port).send_mail(request())
    [message] = received_messages(mail_dir)
    assert message["To"] == "ada@example.com"
    assert message["From"] == MAIL_FROM
    assert message["Subject"] == "We couldn't process your Pro (monthly) payment"
    assert message["Message-ID"] == message_id("sub_1:payment_failed", MAIL_FROM)
    body = message.get_content()
    assert "29.00 USD" in body
    assert UPDATE_URL in body
    async with sessions() as session:
        stored = await mail_repo.get_mail(session, "sub_1:payment_failed")
    assert stored is not None
    assert (stored.status, stored.attempts, stored.template) == ("sent", 1, "payment_failed")
    assert stored.sent_at is not None


@pytest.mark.parametrize("template", list(MailTemplate))
async def test_every_template_names_plan_amount_and_link(
    sessions: Sessions, mail_dir: Path, template: MailTemplate
) -> None:
    async with running_mail_sink(mail_dir) as sink:
        assert await notify(sessions, sink.port).send_mail(request(f"k:{template}", template))
    [message] = received_messages(mail_dir)
    body = message.get_content()
    assert "Pro (monthly)" in message["Subject"]
    assert all(text in body for text in ("Pro (monthly)", "29.00 USD", UPDATE_URL)), body


async def test_same_key_twice_delivers_one_message(sessions: Sessions, mail_dir: Path) -> None:
    async with running_mail_sink(mail_dir) as sink:
        activities = notify(sessions, sink.port)
        assert await activities.send_mail(request())
        assert not await activities.send_mail(request())
        assert await activities.send_mail(request("sub_1:payment_failed_again"))
    keys = [m["Message-ID"] for m in received_messages(mail_dir)]
    assert keys == [
        message_id("sub_1:payment_failed", MAIL_FROM),
        message_id("sub_1:payment_failed_again", MAIL_FROM),
    ]


async def test_sink_down_raises_and_a_later_call_delivers_once(
    sessions: Sessions, mail_dir: Path
) -> None:
    port = free_port()
    activities = notify(sessions, port)
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await activities.send_mail(request())
    async with running_mail_sink(mail_dir, port):
        assert await activities.send_mail(request())
        assert not await activities.send_mail(request())
    assert len(received_messages(mail_dir)) == 1
    async with sessions() as session:
        stored = await mail_repo.get_mail(session, "sub_1:payment_failed")
    assert stored is not None
    assert (stored.status, stored.attempts) == ("sent", 2)


async def test_resend_after_a_crash_before_marking_is_the_same_message(
    sessions: Sessions, mail_dir: Path
) -> None:
    """The one gap exactly-once cannot close: the server accepted the mail, the worker died before
    marking it sent. The retry sends it again, recognisably the same."""
    async with running_mail_sink(mail_dir) as sink:
        activities = notify(sessions, sink.port)
        assert await activities.send_mail(request())
        async with sessions() as session, session.begin():
            stored = await mail_repo.get_mail(session, "sub_1:payment_failed")
            assert stored is not None
            stored.status, stored.sent_at = "pending", None
        changed = request()
        changed.context["plan_name"] = "Team (monthly)"
        assert await activities.send_mail(changed)
    first, second = received_messages(mail_dir)
    assert first.as_bytes() == second.as_bytes(), "the first recorded content is what is resent"


async def test_missing_context_is_a_non_retryable_error(sessions: Sessions, mail_dir: Path) -> None:
    incomplete = MailRequest(
        key="k", to="ada@example.com", template=MailTemplate.FINAL_NOTICE, context={}
    )
    async with running_mail_sink(mail_dir) as sink:
        with pytest.raises(ApplicationError) as raised:
            await notify(sessions, sink.port).send_mail(incomplete)
    assert raised.value.type == ErrorType.MAIL_CONTEXT_INVALID
    assert raised.value.non_retryable
    assert received_messages(mail_dir) == []
    async with sessions() as session:
        assert await mail_repo.get_mail(session, "k") is None


async def add_customer(sessions: Sessions, customer_id: str, email: str) -> None:
    async with sessions() as session, session.begin():
        await customers_repo.add_customer(
            session,
            Customer(
                id=customer_id, account_id="acct_1", email=email, created_at=datetime.now(UTC)
            ),
        )


async def test_the_address_is_read_from_the_customer_when_the_mail_is_sent(
    sessions: Sessions, mail_dir: Path
) -> None:
    """No address travels through Temporal: the request names the customer, and the mail goes
    to the address the database holds at send time."""
    await add_customer(sessions, "cus_1", "grace@example.com")
    by_id = replace(request(), to=None, customer_id="cus_1")
    async with running_mail_sink(mail_dir) as sink:
        assert await notify(sessions, sink.port).send_mail(by_id)
    [message] = received_messages(mail_dir)
    assert message["To"] == "grace@example.com"


async def test_an_erased_customer_gets_no_mail(sessions: Sessions, mail_dir: Path) -> None:
    await add_customer(sessions, "cus_2", "erased@example.com")
    async with sessions() as session, session.begin():
        await customers_repo.erase_customer(session, "cus_2", datetime.now(UTC))
    by_id = replace(request(), to=None, customer_id="cus_2")
    async with running_mail_sink(mail_dir) as sink:
        assert not await notify(sessions, sink.port).send_mail(by_id)
    assert received_messages(mail_dir) == []
    async with sessions() as session:
        assert await mail_repo.get_mail(session, by_id.key) is None
