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

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.notify import MailSender
from db.repositories import mail as mail_repo

log = logging.getLogger("durapay.outbox")


class Outbox(MailSender):
    """Sends the mails recorded in a change's transaction, with their attachments, once they are
    ``pending``."""

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
