"""The circuit breaker's view of each provider, shared by every worker.

Functions flush but never commit: the caller owns the transaction (one per request or activity).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    ProviderHealth,
)
from db.repositories.writes import insert_once


async def save_provider_health(session: AsyncSession, values: Mapping[str, Any]) -> None:
    """Insert or overwrite one provider's circuit record (the writer holds the latest state)."""
    if await insert_once(session, ProviderHealth, values):
        return
    await session.execute(
        update(ProviderHealth)
        .where(ProviderHealth.provider == values["provider"])
        .values(**{k: v for k, v in values.items() if k != "provider"})
        .execution_options(synchronize_session=False)
    )


async def list_provider_health(session: AsyncSession) -> list[ProviderHealth]:
    return list(await session.scalars(select(ProviderHealth).order_by(ProviderHealth.provider)))
