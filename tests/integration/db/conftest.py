"""Each repository test runs on SQLite and on PostgreSQL, each time on a freshly migrated database:
production runs either, and their differences (time zones, conflict handling, locking) are exactly
where a repository bug hides."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.migrate import upgrade_to_head
from db.session import create_engine, create_session_factory
from tests.support.postgres import running_postgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One cluster per session; each test still gets its own database on it."""
    with running_postgres() as url:
        yield url


async def _fresh_postgres_database(server_url: str) -> str:
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server_url)
    try:
        async with admin.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database migrated to head."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'durapay.db'}"
    else:
        url = await _fresh_postgres_database(request.getfixturevalue("postgres_server"))
    await upgrade_to_head(url)
    return url


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    yield create_session_factory(engine)
    await engine.dispose()
