"""What customers are sent and read: invoice numbers, mail attachments, receipt requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class InvoiceNumberCounter(Base):
    """The last invoice number given in one account's series for one year.

    Incremented in the same transaction that numbers the invoice: the row lock (PostgreSQL) or
    the database write lock (SQLite) holds concurrent openings back until it commits, and a
    rolled-back opening takes its increment with it, so the series has no gaps and no repeats.
    """

    __tablename__ = "invoice_number_counters"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger)


class MailAttachment(Base):
    """A file sent with the outbox mail ``mail_key``, stored with it so a resend is the same."""

    __tablename__ = "mail_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mail_key: Mapped[str] = mapped_column(String(255), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ReceiptRequest(Base):
    """A payment whose customer asked (``receipt_email: true``) to be mailed its receipt; read
    when the payment's projection records it succeeded."""

    __tablename__ = "receipt_requests"

    payment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    requested_at: Mapped[datetime]
