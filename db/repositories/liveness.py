"""Whether the database answers at all: the health check's one query."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def ping(session: AsyncSession) -> None:
    """Raises whatever the driver raises when the database cannot serve a statement."""
    await session.execute(text("SELECT 1"))
