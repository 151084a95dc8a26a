"""Webhooks to merchants: the event log (an outbox written with the change it reports), the
endpoints events go to, and every delivery attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class Event(Base):
    """Something that happened to a resource, written in the transaction that recorded it.

    ``dedupe_key`` (resource, event type and what makes the transition unique) keeps a repeated or
    replayed projection write from raising the event twice. ``dispatched_at`` is set once every
    delivery workflow the event needs has been started: a sweep starts the rest for an event a
    dying worker left undispatched."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_account_created", "account_id", "created_at"),
        Index("ix_events_undispatched", "dispatched_at", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(64), index=True)
    resource_id: Mapped[str] = mapped_column(String(64), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    """``{"object": <the resource as the API answers it>}``."""
    created_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None]


class WebhookEndpoint(Base):
    """A merchant's URL and the event types it wants. The signing secret is stored sealed
    (AES-GCM under a server key, ``db.sealing``), not hashed: every delivery must sign with it.
    After a roll the previous secret signs too, until ``previous_secret_expires_at``."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_account_created", "account_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16))
    """``enabled`` or ``disabled`` (after three days of failed deliveries)."""
    sealed_secret: Mapped[str] = mapped_column(Text)
    sealed_previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One attempt to deliver one event to one endpoint, recorded once under (delivery, attempt)
    however often the activity that made it ran."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("delivery_id", "attempt", name="uq_webhook_deliveries_attempt"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(200))
    """The delivery workflow's ID: ``whd_<evt>_<we>``, plus ``_r<n>`` for a redelivery."""
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    """``delivered`` or ``failed``."""
    response_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(200))
    """Why no answer came (a timeout, a refused address): a class name and a short reason."""
    created_at: Mapped[datetime]
