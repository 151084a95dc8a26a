"""Payment links: a customer pays through a URL holding a token; only the token's hash is kept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class PaymentLink(Base):
    __tablename__ = "payment_links"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_payment_links_token_hash"),
        Index("ix_payment_links_account_created", "account_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    invoice_id: Mapped[str | None] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str | None] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the token: a lookup by hash takes the same path for every token presented."""
    request_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    attempt: Mapped[int] = mapped_column(Integer)
    """How many payments the link has started; a failed one lets the next attempt start."""
    payment_id: Mapped[str | None] = mapped_column(String(64))
    """The payment of the latest attempt."""
    paid_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
