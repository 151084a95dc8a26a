"""The worker's SQLite engine (``create_engine(queue_writers=True)``, ``db/inline_sqlite.py``):
its calls run on the event loop's thread, so it must never make the loop wait for a lock that
another process (the API, a migration, an operator's shell) holds."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from db.session import create_engine


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "worker.db"
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE steps (name TEXT PRIMARY KEY)")
    return path


@asynccontextmanager
async def worker_engine(database: Path, lock_wait: float) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(
        f"sqlite+aiosqlite:///{database}", queue_writers=True, lock_wait=lock_wait
    )
    try:
        yield engine
    finally:
        await engine.dispose()


@contextmanager
def write_locked(database: Path) -> Iterator[sqlite3.Connection]:
    """Another process's write transaction on the file, for as long as the block runs."""
    holder = sqlite3.connect(database, isolation_level=None, timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield holder
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()


@asynccontextmanager
async def loop_ticks() -> AsyncIterator[list[float]]:
    """The times at which a 10 ms sleeper on the event loop woke up while the block ran."""
    woke: list[float] = []

    async def sleeper() -> None:
        while True:
            await asyncio.sleep(0.01)
            woke.append(time.monotonic())

    task = asyncio.create_task(sleeper())
    try:
        yield woke
    finally:
        task.cancel()


def longest_gap(times: list[float]) -> float:
    return max(later - earlier for earlier, later in itertools.pairwise(times))


async def steps(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT name FROM steps ORDER BY name"))
        return [name for (name,) in rows]


async def test_a_write_waits_for_another_process_with_the_event_loop_free(database: Path) -> None:
    async with worker_engine(database, lock_wait=10) as engine, loop_ticks() as woke:
        with write_locked(database) as holder:
            asyncio.get_running_loop().call_later(0.5, holder.execute, "COMMIT")
            started = time.monotonic()
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO steps VALUES ('recorded')"))
            waited = time.monotonic() - started
        assert 0.4 < waited < 3
        assert len(woke) >= 20
        assert longest_gap(woke) < 0.2
        assert await steps(engine) == ["recorded"]


async def test_a_write_gives_up_after_the_lock_wait_and_works_once_the_lock_is_gone(
    database: Path,
) -> None:
    async with worker_engine(database, lock_wait=0.3) as engine, loop_ticks() as woke:
        with write_locked(database):
            started = time.monotonic()
            with pytest.raises(OperationalError, match="database is locked"):
                async with engine.begin() as connection:
                    await connection.execute(text("INSERT INTO steps VALUES ('lost')"))
            assert time.monotonic() - started < 2
            assert longest_gap(woke) < 0.2
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO steps VALUES ('retried')"))
        assert await steps(engine) == ["retried"]


async def test_a_transaction_holds_the_write_lock_from_its_first_read(database: Path) -> None:
    """What a step reads stays true until it commits: nobody else writes in between."""
    async with worker_engine(database, lock_wait=1) as engine:
        async with engine.begin() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM steps"))).scalar() == 0
            other = sqlite3.connect(database, isolation_level=None, timeout=0)
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("INSERT INTO steps VALUES ('in between')")
            other.close()
            await connection.execute(text("INSERT INTO steps VALUES ('own')"))
        assert await steps(engine) == ["own"]


async def write_then_fail(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO steps VALUES ('half done')"))
        raise RuntimeError("the step failed after its write")


async def test_a_failed_transaction_leaves_nothing(database: Path) -> None:
    async with worker_engine(database, lock_wait=1) as engine:
        with pytest.raises(RuntimeError):
            await write_then_fail(engine)
        assert await steps(engine) == []
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO steps VALUES ('next')"))
        assert await steps(engine) == ["next"]
