"""Engine and session factory. SQLite gets WAL and a busy timeout so the API and the worker can
write the same file concurrently; PostgreSQL gets pre-ping so a restarted server is survived."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
)

DEFAULT_LOCK_WAIT = 30.0


def create_engine(database_url: str, *, lock_wait: float = DEFAULT_LOCK_WAIT) -> AsyncEngine:
    """The URL is a parameter, not read from settings, so tests and migrations can aim anywhere.

    ``lock_wait`` is how many seconds a SQLite statement waits for a lock another connection holds
    before failing with "database is locked": long for the worker, whose writes retry anyway;
    the API passes a shorter one so a client gets its 503 instead of a request that seems to hang.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": lock_wait})

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        for pragma in (*_SQLITE_PRAGMAS, f"PRAGMA busy_timeout={int(lock_wait * 1000)}"):
            cursor.execute(pragma)
        cursor.close()

    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Rows stay readable after commit: responses are built once the transaction has ended."""
    return async_sessionmaker(engine, expire_on_commit=False)
