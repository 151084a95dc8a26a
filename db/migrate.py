"""Bring a database to the newest schema: ``python -m db.migrate`` or ``upgrade_to_head(url)``."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from alembic import command
from alembic.config import Config

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")


def _upgrade(database_url: str) -> None:
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.upgrade(config, "head")


async def upgrade_to_head(database_url: str) -> None:
    """Runs in a thread: Alembic's env starts its own event loop for the async engine."""
    await asyncio.to_thread(_upgrade, database_url)


if __name__ == "__main__":
    _upgrade(os.environ.get("DURAPAY_DATABASE_URL", "sqlite+aiosqlite:///.data/durapay.db"))
