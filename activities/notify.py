"""Activities that send notifications: the dunning mails, each at most once per key.

Templates live in ``templates/mail/``: ``<name>.subject.txt`` and ``<name>.txt`` per
``MailTemplate``, plain text, rendered with Jinja2 (autoescape only for ``.html``). Amounts reach
the templates as integer minor units and are formatted by the ``money`` filter, never as floats.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.errors import ErrorType
from contracts.mail import MailRequest
from db.models import MailAttachment, MailOutbox
from db.repositories import customers as customers_repo
from db.repositories import mail as mail_repo
from money import format_amount

log = logging.getLogger("durapay.mail")

MAIL_TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "mail"


def _money(amount: str, currency: str) -> str:
    """``{{ "2900" | money("USD") }}`` → ``29.00 USD``."""
    return f"{format_amount(int(amount), currency)} {currency}"


_templates = Environment(
    loader=FileSystemLoader(MAIL_TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)
_templates.filters["money"] = _money


def render_mail(template: StrEnum, context: dict[str, str]) -> tuple[str, str]:
    """Subject and plain-text body; a missing context key raises instead of mailing a blank.
    ``template`` is a ``MailTemplate`` or another enum of template names."""
    try:
        subject = _templates.get_template(f"{template.value}.subject.txt").render(context)
        body = _templates.get_template(f"{template.value}.txt").render(context)
    except (TemplateError, ValueError) as error:
        raise ApplicationError(
            f"cannot render mail {template.value}: {error}",
            type=ErrorType.MAIL_CONTEXT_INVALID,
            non_retryable=True,
        ) from error
    return " ".join(subject.split()), body


@dataclass(frozen=True)
class SmtpRelay:
    """The SMTP server mail is handed to, and how: a relay in production takes mail only over TLS
    and after a login; the dev sink takes anything in plain text."""

    host: str
    port: int
    tls: Literal["opportunistic", "starttls", "implicit"] = "opportunistic"
    """``opportunistic`` upgrades when the server offers STARTTLS; ``starttls`` refuses to send
    unless it can; ``implicit`` speaks TLS from the first byte (port 465)."""
    username: str = ""
    password: str = field(default="", repr=False)

    async def send(self, message: EmailMessage) -> None:
        """Hand ``message`` over; certificates are always verified against the system's roots."""
        await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,
            use_tls=self.tls == "implicit",
            start_tls=True if self.tls == "starttls" else None,
            username=self.username or None,
            password=self.password or None,
        )


class MailSender:
    """Hands outbox mails to one SMTP relay: what the dunning activities and the outbox
    (``activities.outbox``) both do, each with its own way of recording the mail first."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], relay: SmtpRelay, mail_from: str
    ) -> None:
        self._sessions = sessions
        self._relay = relay
        self._mail_from = mail_from

    def message(self, mail: MailOutbox, attachments: Sequence[MailAttachment] = ()) -> EmailMessage:
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


class NotifyActivities(MailSender):
    """Sends mail through one SMTP server, recording each in the outbox under its key."""

    @activity.defn(name="send_mail")
    async def send_mail(self, request: MailRequest) -> bool:
        """Send ``request`` unless its key was already sent; True if this call handed it to SMTP.

        Exactly once, as far as SMTP allows: the outbox row for ``key`` is written (first content
        wins) and its attempt counted in one transaction before the SMTP call, and marked ``sent``
        in another after the server accepted the mail. A call that finds the key ``sent`` returns
        False without sending, so retries, replays and repeated requests never mail twice. The
        one gap is a crash (or lost database) after the server accepted the mail and before it
        was marked: the retry sends it once more, byte for byte the same with the same
        Message-ID, so mail clients and the sink recognise the duplicate. A transport failure
        raises, and Temporal retries the activity.
        """
        subject, body = render_mail(request.template, request.context)
        async with self._sessions() as session, session.begin():
            address = request.to or await self._address_of(session, request.customer_id)
            if address is None:
                log.info("mail %s not sent: the customer has no address (erased)", request.key)
                return False
            recording = mail_repo.NewMail(
                request.key, address, request.template.value, subject, body, datetime.now(UTC)
            )
            mail = await mail_repo.record_mail(session, recording)
            if mail.status == "sent":
                return False
            await mail_repo.count_attempt(session, request.key)
        await self._relay.send(self.message(mail))
        async with self._sessions() as session, session.begin():
            await mail_repo.mark_mail_sent(session, request.key, datetime.now(UTC))
        return True

    @staticmethod
    async def _address_of(session: AsyncSession, customer_id: str | None) -> str | None:
        """The customer's address now: an erasure since the mail was scheduled is honoured."""
        if customer_id is None:
            return None
        customer = await customers_repo.get_customer(session, customer_id)
        return customer.email if customer is not None else None


def message_id(key: str, mail_from: str) -> str:
    """A Message-ID that depends only on the outbox key and the sender's domain."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{mail_from.rpartition('@')[2]}>"
