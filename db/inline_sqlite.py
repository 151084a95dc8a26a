"""The worker's SQLite connection, run on the event loop's own thread.

aiosqlite runs every call (cursor, execute, fetch, close, commit) on a thread of its own and hands
each result back through the event loop: about four hops per statement. The worker has one
connection (``create_engine(queue_writers=True)``), so its payments' steps take turns on it, and a
step held it for as long as its hops waited for a busy event loop to come back to them: 10.5 ms
(p50) for a payment transition whose statements take well under one, about 55 ms per payment in
all, which capped the worker near 17 payments a second with a third of the machine idle
(``bench.payments``, December 2026).

Here a call runs where it is made. That is safe only if a call never waits for a lock, because a
wait would stop the whole loop: every transaction begins with ``BEGIN IMMEDIATE``, which takes
SQLite's write lock at once or fails at once (busy timeout 0), and is then retried after an
``asyncio.sleep`` (``begin_immediately``), with the loop free, for as long as the engine's lock
wait allows. Once a transaction holds the write lock, its statements never wait for another
connection (WAL readers do not block a writer), and the snapshot it read cannot go stale under it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Generator
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_

FIRST_RETRY = 0.001
LONGEST_RETRY = 0.05
"""How often a transaction asks again for the write lock another process holds: doubling from
1 ms up to 50 ms, short enough to follow a short write closely, long enough to cost nothing while
a long one runs."""


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection, with each call made at once on the caller's thread instead of
    queued to aiosqlite's thread (which is never started)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._open().__await__()

    async def _open(self) -> InlineConnection:
        self._connection = self._connector()
        return self

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()


def inline_connector(database: str) -> Callable[[], Any]:
    """``create_async_engine(async_creator=…)`` for ``database``: in autocommit mode, so that
    SQLite's transactions are begun by ``begin_immediately`` rather than by Python's ``sqlite3``
    (which begins them deferred, just before the first write)."""

    async def connect() -> InlineConnection:
        return await InlineConnection(
            lambda: sqlite3.connect(
                database, timeout=0, isolation_level=None, check_same_thread=False
            )
        )

    return connect


def begin_immediately(engine: AsyncEngine, lock_wait: float) -> None:
    """Begin each of the engine's transactions with ``BEGIN IMMEDIATE``, waiting for the write
    lock with the event loop free, for at most ``lock_wait`` seconds; then the last "database is
    locked" is raised, as a busy timeout would have raised it."""

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Connection) -> None:
        deadline = time.monotonic() + lock_wait
        delay = FIRST_RETRY
        while True:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as error:
                if "locked" not in str(error.orig) or time.monotonic() + delay > deadline:
                    raise
            await_(asyncio.sleep(delay))
            delay = min(delay * 2, LONGEST_RETRY)
