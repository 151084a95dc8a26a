"""Engine and session factory. SQLite gets WAL and a busy timeout so the API and the worker can
write the same file concurrently; PostgreSQL gets pre-ping so a restarted server is survived."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from db.inline_sqlite import begin_immediately, inline_connector

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
)

DEFAULT_LOCK_WAIT = 30.0


def create_engine(
    database_url: str, *, lock_wait: float = DEFAULT_LOCK_WAIT, queue_writers: bool = False
) -> AsyncEngine:
    """The URL is a parameter, not read from settings, so tests and migrations can aim anywhere.

    ``lock_wait`` is how many seconds a SQLite statement waits for a lock another connection holds
    before failing with "database is locked": long for the worker, whose writes retry anyway;
    the API passes a shorter one so a client gets its 503 instead of a request that seems to hang.

    ``queue_writers`` gives a SQLite engine a single connection, for a process whose sessions are
    short write transactions (the worker). SQLite lets one writer in at a time anyway; with one
    connection per process this process's writers wait their turn in order on the event loop.
    With several, a writer that finds the file locked sleeps in SQLite's busy handler (up to
    100 ms a try, with no queue), so under load some writes starve for seconds while others
    overtake them, and a workflow task waiting on one of them stalls. PostgreSQL ignores it.

    That one connection runs its calls on the event loop's thread, and its transactions begin
    with ``BEGIN IMMEDIATE``, waiting for the write lock with the loop free
    (``db/inline_sqlite.py`` says why and why it is safe). Its pool does not roll back a
    connection it gets back: SQLAlchemy's ``Connection`` ends its transaction itself (commit, or
    a rollback on close), so the pool's rollback was a second one after every session.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return _postgres_engine(url)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    if queue_writers:
        engine = create_async_engine(
            url,
            async_creator=inline_connector(url.database or ":memory:"),
            pool_size=1,
            max_overflow=0,
            pool_timeout=lock_wait,
            pool_reset_on_return=None,
        )
        begin_immediately(engine, lock_wait)
        busy_timeout = 0
    else:
        engine = create_async_engine(url, connect_args={"timeout": lock_wait})
        busy_timeout = int(lock_wait * 1000)

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        for pragma in (*_SQLITE_PRAGMAS, f"PRAGMA busy_timeout={busy_timeout}"):
            cursor.execute(pragma)
        cursor.close()

    return engine


def _postgres_engine(url: URL) -> AsyncEngine:
    """Pre-ping replaces the pooled connections a restarted server killed. A connection the
    server refuses (stopped, or not listening yet) fails in asyncpg with a bare ``OSError``
    (``ConnectionRefusedError``), which SQLAlchemy passes through unwrapped; it is raised as the
    driver's ``OperationalError`` instead, so every "the database is unavailable" reaches callers
    as a SQLAlchemy error (``sqlalchemy.exc.OperationalError``), which is what code that
    tolerates a database outage catches."""
    engine = create_async_engine(url, pool_pre_ping=True)

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except OSError as error:
            raise dialect.loaded_dbapi.OperationalError(str(error)) from error

    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Rows stay readable after commit: responses are built once the transaction has ended."""
    return async_sessionmaker(engine, expire_on_commit=False)
