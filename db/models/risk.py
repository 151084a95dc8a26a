"""Risk: each account's rules, and the reservations that hold customers to their limits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class RiskRuleSet(Base):
    """The rules an account set with ``PUT /v1/admin/risk/rules``; none: the settings' defaults."""

    __tablename__ = "risk_rules"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class LimitUsage(Base):
    """One payment's amount reserved against its customer's day and month limits. A failed or
    canceled payment releases it (``released_at``); a refund does not (README)."""

    __tablename__ = "limit_usage"
    __table_args__ = (Index("ix_limit_usage_customer_month", "customer_id", "currency", "month"),)

    payment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    day: Mapped[str] = mapped_column(String(10))
    """The UTC day (``2026-12-02``) of the payment's start."""
    month: Mapped[str] = mapped_column(String(7))
    created_at: Mapped[datetime]
    released_at: Mapped[datetime | None]


class LimitCounter(Base):
    """One row per customer, written first by every reservation: the lock that makes a check
    and its insert one step (PostgreSQL locks the row; SQLite takes its single write lock)."""

    __tablename__ = "limit_counters"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reservations: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]
