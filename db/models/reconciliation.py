"""Reconciliation runs: when each ran, what it checked, what differed, and where the next starts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class ReconciliationRun(Base):
    __tablename__ = "reconciliation_runs"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    """The run's workflow ID (``rec_…``)."""
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime | None]
    since: Mapped[datetime]
    """The earliest provider object this run listed (the previous watermark, less a margin)."""
    watermark: Mapped[datetime | None]
    """Set when the run finishes: where the next run starts listing."""
    checked: Mapped[int] = mapped_column(Integer, default=0)
    drift: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
