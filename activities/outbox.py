"""Delivering what the outbox holds: mails recorded in the same transaction as the change they
report (an invoice opened or paid, a payment succeeded), with their attachments.

The activity that records such a mail hands it to SMTP right after its transaction commits
(``deliver``); if SMTP is down the mail stays ``pending`` and ``OutboxSweeper`` in the worker hands
it over later. Neither sends a mail already marked ``sent``, so each key is mailed once (or, after a
crash between the SMTP server's acceptance and the mark, once more with the same Message-ID).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.notify import SmtpRelay, message_id
from db.models import MailAttachment, MailOutbox
from db.repositories import mail as mail_repo

log = logging.getLogger("durapay.outbox")


class Outbox:
    """Hands pending outbox mails to one SMTP relay."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], relay: SmtpRelay, mail_from: str
    ) -> None:
        self._sessions = sessions
        self._relay = relay
        self._mail_from = mail_from

    async def deliver(self, key: str) -> bool:
        """Send the pending mail ``key``; True if this call handed it to SMTP, False when it was
        already sent, is still being prepared, or was never recorded. A transport failure raises;
        the mail stays pending."""
        async with self._sessions() as session, session.begin():
            mail = await mail_repo.get_mail(session, key)
            if mail is None or mail.status != "pending":
                return False
            attachments = await mail_repo.attachments_of(session, key)
            await mail_repo.count_attempt(session, key)
        await self._relay.send(self.message(mail, attachments))
        async with self._sessions() as session, session.begin():
            await mail_repo.mark_mail_sent(session, key, datetime.now(UTC))
        return True

    async def release(self, key: str, attachments: list[mail_repo.Attachment]) -> None:
        """Store a ``preparing`` mail's attachments and make it ``pending``, in one transaction."""
        async with self._sessions() as session, session.begin():
            await mail_repo.release_mail(session, key, attachments)

    async def try_deliver(self, key: str) -> None:
        """``deliver``, leaving the mail to the sweeper when SMTP fails: a mail outage must not
        hold up the invoice or payment whose transaction recorded it."""
        try:
            await self.deliver(key)
        except Exception as error:
            log.warning(
                "mail %s left pending for the outbox sweeper: %s", key, type(error).__name__
            )

    def message(self, mail: MailOutbox, attachments: list[MailAttachment]) -> EmailMessage:
        """Every header and part comes from the outbox, so a resend is the same message."""
        message = EmailMessage()
        message["From"] = self._mail_from
        message["To"] = mail.to_address
        message["Subject"] = mail.subject
        message["Date"] = format_datetime(mail.created_at)
        message["Message-ID"] = message_id(mail.key, self._mail_from)
        message.set_content(mail.body)
        for attachment in attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            message.add_attachment(
                attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
            )
        return message


class OutboxSweeper:
    """Retries mails left pending, every ``interval``, once they are older than ``grace`` (long
    past any sender still trying: an SMTP call times out well within it)."""

    def __init__(
        self,
        outbox: Outbox,
        sessions: async_sessionmaker[AsyncSession],
        *,
        interval: timedelta,
        grace: timedelta,
    ) -> None:
        self._outbox = outbox
        self._sessions = sessions
        self._interval = interval
        self._grace = grace

    async def sweep(self) -> int:
        """One pass; how many mails it handed to SMTP."""
        async with self._sessions() as session:
            keys = await mail_repo.stale_pending_keys(session, datetime.now(UTC) - self._grace)
        sent = 0
        for key in keys:
            try:
                sent += await self._outbox.deliver(key)
            except Exception as error:
                log.warning("outbox sweep: mail %s still pending: %s", key, type(error).__name__)
                break
        return sent

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.sweep()
            try:
                await asyncio.wait_for(stop.wait(), self._interval.total_seconds())
            except TimeoutError:
                continue
