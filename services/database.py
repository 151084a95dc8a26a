"""Short database sessions for services, and the guard that keeps them away from Temporal waits.

A request has no session of its own. A service opens one for each step that reads or writes
(``reading`` or ``writing``), and the session is closed, its connection back in the pool, when the
block ends. Every call in ``services.temporal`` first calls ``ensure_no_open_session``: a service
that waited on Temporal (a payment cancel may wait a day) while holding a connection would fail
loudly in the first test that reached it, instead of exhausting the pool in production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.session import create_engine, create_session_factory

_open_sessions: ContextVar[int] = ContextVar("durapay_open_sessions", default=0)
"""Sessions open in the current task (a request, or one ``asyncio`` task of it)."""


class SessionHeldAcrossTemporalCall(RuntimeError):
    """A bug: a service called Temporal inside ``Database.reading()`` or ``writing()``."""


def ensure_no_open_session() -> None:
    if _open_sessions.get():
        raise SessionHeldAcrossTemporalCall("close the database session before waiting on Temporal")


class Database:
    """The services' only way to a database session."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reads; anything it wrote is rolled back when the block ends."""
        token = _open_sessions.set(_open_sessions.get() + 1)
        try:
            async with self.sessions() as session:
                yield session
        finally:
            _open_sessions.reset(token)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction committed when the block ends (rolled back on error)."""
        async with self.reading() as session, session.begin():
            yield session


@asynccontextmanager
async def connect(database_url: str) -> AsyncIterator[Database]:
    """A ``Database`` for a process that needs no Temporal (the ``durapay`` command); its
    connections are closed when the block ends."""
    engine = create_engine(database_url)
    try:
        yield Database(create_session_factory(engine))
    finally:
        await engine.dispose()
