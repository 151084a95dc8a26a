"""Card tokens waiting for their save-card workflow, kept here so Temporal never holds them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class HeldPaymentMethodToken(Base):
    """The provider token a client sent to save a payment method, keyed by the method's id (the
    save-card workflow's id). The API holds it before starting the workflow; the attach activity
    reads it and writes the reusable ``reference`` the provider gave back; recording the method
    copies that reference and deletes the row. A refused attach deletes it too."""

    __tablename__ = "held_payment_method_tokens"

    payment_method_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[str] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(Text)
    held_at: Mapped[datetime]
