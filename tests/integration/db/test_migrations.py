"""Migrations are how every deployment gets its schema, and every start runs them: they must
describe exactly the models and be harmless to repeat."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.migrate import ALEMBIC_INI, upgrade_to_head
from db.models import Base, Customer
from db.repositories import customers as customers_repo
from db.session import create_engine
from tests.integration.db.test_repository import customer

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def _head() -> str:
    head = ScriptDirectory.from_config(Config(str(ALEMBIC_INI))).get_current_head()
    assert head is not None
    return head


def _schema(connection: Connection) -> dict[str, list[str]]:
    inspector = inspect(connection)
    return {
        table: sorted(column["name"] for column in inspector.get_columns(table))
        for table in inspector.get_table_names()
    }


def _model_drift(connection: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def test_upgrading_twice_changes_nothing(
    database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        await customers_repo.add_customer(session, customer())
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            before = await connection.run_sync(_schema)
        await upgrade_to_head(database_url)
        async with engine.connect() as connection:
            assert await connection.run_sync(_schema) == before
            versions = await connection.execute(text("SELECT version_num FROM alembic_version"))
            assert versions.scalars().all() == [_head()]
    finally:
        await engine.dispose()
    async with sessions() as session:
        assert await session.get(Customer, "cus_1") is not None


async def test_migrations_match_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_model_drift) == []
    finally:
        await engine.dispose()


def test_module_entry_point_migrates_the_configured_database(tmp_path: Path) -> None:
    """``python -m db.migrate`` is what deployments run; it also creates the SQLite directory."""
    database = tmp_path / "missing" / "dir" / "durapay.db"
    subprocess.run(
        [sys.executable, "-m", "db.migrate"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DURAPAY_DATABASE_URL": f"sqlite+aiosqlite:///{database}"},
        check=True,
        capture_output=True,
    )
    with sqlite3.connect(database) as connection:
        versions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    connection.close()
    assert versions == [(_head(),)]
    assert {"payments", "webhook_events", "payment_events", "api_keys"} <= tables
