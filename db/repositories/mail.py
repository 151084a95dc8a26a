"""The mail outbox: the record that makes sending a mail idempotent by key.

A mail is recorded (``pending``) before the SMTP call and marked ``sent`` after it; the key is
unique, so a retried send finds the row and the first recorded content, never a second mail.

Functions flush but never commit: the caller owns the transaction (one per request or activity).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DunningCase, MailAttachment, MailOutbox
from db.repositories.paging import all_newest_first
from db.repositories.writes import insert_once, update_rows


@dataclass(frozen=True)
class NewMail:
    """A rendered mail, as its sender asks the outbox to record it under ``key``."""

    key: str
    to_address: str
    template: str
    subject: str
    body: str
    created_at: datetime


async def record_mail(session: AsyncSession, mail: NewMail) -> MailOutbox:
    """The outbox row for ``mail.key``: this mail, or the one recorded first under that key."""
    await _insert(session, mail, "pending")
    stored = await get_mail(session, mail.key)
    assert stored is not None
    return stored


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


PREPARING = "preparing"
"""A mail recorded with the change it reports whose attachments are still being made; nothing
sends it until ``release_mail`` stores them and makes it ``pending``."""


async def enqueue_mail(session: AsyncSession, mail: NewMail) -> bool:
    """Record a ``preparing`` mail in the caller's transaction, once per key (the
    transactional outbox: the mail exists exactly when the change it reports committed).
    False when the key was already recorded; its first content stands."""
    return await _insert(session, mail, PREPARING)


async def _insert(session: AsyncSession, mail: NewMail, status: str) -> bool:
    """Insert once by key, not yet attempted nor sent."""
    values = {**asdict(mail), "status": status, "attempts": 0, "sent_at": None}
    return await insert_once(session, MailOutbox, values)


async def release_mail(session: AsyncSession, key: str, attachments: list[Attachment]) -> bool:
    """Store the attachments of a ``preparing`` mail and make it ``pending``; False (nothing
    stored) when another attempt released it first."""
    released = await update_rows(
        session,
        update(MailOutbox)
        .where(MailOutbox.key == key, MailOutbox.status == PREPARING)
        .values(status="pending"),
    )
    if released:
        session.add_all(
            MailAttachment(
                mail_key=key,
                filename=attachment.filename,
                content_type=attachment.content_type,
                content=attachment.content,
            )
            for attachment in attachments
        )
        await session.flush()
    return bool(released)


async def attachments_of(session: AsyncSession, key: str) -> list[MailAttachment]:
    found = await session.scalars(
        select(MailAttachment).where(MailAttachment.mail_key == key).order_by(MailAttachment.id)
    )
    return list(found)


async def stale_pending_keys(session: AsyncSession, created_before: datetime) -> list[str]:
    """Mails recorded before ``created_before`` and still not sent, oldest first: the ones whose
    sender gave up (an SMTP outage) or died before handing them over."""
    found = await session.scalars(
        select(MailOutbox.key)
        .where(MailOutbox.status == "pending", MailOutbox.created_at < created_before)
        .order_by(MailOutbox.created_at)
    )
    return list(found)


async def count_attempt(session: AsyncSession, key: str) -> None:
    """Note one more delivery attempt, before the SMTP call, so a crashed attempt still counts."""
    await update_rows(
        session,
        update(MailOutbox).where(MailOutbox.key == key).values(attempts=MailOutbox.attempts + 1),
    )


async def mark_mail_sent(session: AsyncSession, key: str, sent_at: datetime) -> bool:
    """Mark a pending mail sent; False when it already was (the first ``sent_at`` stands)."""
    sending = (
        update(MailOutbox)
        .where(MailOutbox.key == key, MailOutbox.status == "pending")
        .values(status="sent", sent_at=sent_at)
    )
    return bool(await update_rows(session, sending))


async def get_mail(session: AsyncSession, key: str) -> MailOutbox | None:
    result: MailOutbox | None = await session.scalar(
        select(MailOutbox).where(MailOutbox.key == key)
    )
    return result


def _to_customer(customer_id: str, email: str | None) -> ColumnElement[bool]:
    """Mail to a customer: to their address, or sent by a dunning case of theirs (which may have
    mailed an address they had before). A dunning mail's key is ``<case id>:<stage>``."""
    by_case = exists(
        select(DunningCase.id).where(
            DunningCase.customer_id == customer_id,
            func.substr(MailOutbox.key, 1, func.length(DunningCase.id) + 1) == DunningCase.id + ":",
        )
    )
    return by_case if email is None else or_(MailOutbox.to_address == email, by_case)


async def mails_to_customer(
    session: AsyncSession, customer_id: str, email: str | None
) -> list[MailOutbox]:
    return await all_newest_first(
        session, select(MailOutbox).where(_to_customer(customer_id, email)), MailOutbox
    )


async def erase_recipient(
    session: AsyncSession, customer_id: str, email: str | None, placeholder: str
) -> int:
    """Replace the address of every mail to the customer with ``placeholder``; the rows stay,
    so a replayed send still finds its key and does not mail again. Their attachments (invoices
    and receipts naming the customer) are deleted. How many mails changed."""
    await session.execute(
        delete(MailAttachment).where(
            MailAttachment.mail_key.in_(
                select(MailOutbox.key).where(_to_customer(customer_id, email))
            )
        )
    )
    return await update_rows(
        session,
        update(MailOutbox).where(_to_customer(customer_id, email)).values(to_address=placeholder),
    )
