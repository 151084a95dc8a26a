"""Alerts: something an operator should look at, raised once per cause and time window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("account_id", "kind", "cause", "window_start", name="uq_alerts_cause"),
        Index("ix_alerts_account_created", "account_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(48))
    severity: Mapped[str] = mapped_column(String(16))
    cause: Mapped[str] = mapped_column(String(255))
    """What the alert is about (a customer, an endpoint, a provider object): with the kind and
    the window, the key that keeps a storm of the same cause down to one alert."""
    window_start: Mapped[datetime]
    customer_id: Mapped[str | None] = mapped_column(String(64))
    payment_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)
