"""The circuit breaker's view of each provider, shared by every worker.

Functions flush but never commit: the caller owns the transaction (one per request or activity).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    ProviderHealth,
)
from db.repositories.writes import insert_or_update


async def save_provider_health(session: AsyncSession, values: Mapping[str, Any]) -> None:
    """Insert or overwrite one provider's circuit record (the writer holds the latest state)."""
    await insert_or_update(session, ProviderHealth, values, key="provider", unchanged=())


async def list_provider_health(session: AsyncSession) -> list[ProviderHealth]:
    return list(await session.scalars(select(ProviderHealth).order_by(ProviderHealth.provider)))
