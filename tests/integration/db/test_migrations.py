"""Migrations are how every deployment gets its schema, and every start runs them: they must
describe exactly the models and be harmless to repeat."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
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
from tests.integration.db.conftest import _fresh_postgres_database
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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, not migrated at all."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    return await _fresh_postgres_database(request.getfixturevalue("postgres_server"))


def _upgrade_to(database_url: str, revision: str) -> None:
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.upgrade(config, revision)


async def test_client_secrets_recorded_before_leave_the_projection(
    empty_database_url: str,
) -> None:
    """Payments projected before Stripe's client secret was kept out of Durapay lose it on
    upgrade; the rest of their next action stays."""
    await asyncio.to_thread(_upgrade_to, empty_database_url, "0007")
    engine = create_engine(empty_database_url)
    action = {"type": "stripe_sdk", "client_secret": "pi_1_secret_2"}
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO payments (id, account_id, customer_id, provider, status, amount,"
                    " currency, amount_capturable, amount_captured, amount_refunded,"
                    " capture_method, next_action, metadata, request_hash, version, created_at,"
                    " updated_at) VALUES ('pay_1', 'acct_1', 'cus_1', 'stripe',"
                    " 'requires_action', 100, 'USD', 0, 0, 0, 'automatic', :action, '{}', 'h', 1,"
                    " :at, :at)"
                ),
                {"action": json.dumps(action), "at": datetime.now(UTC)},
            )
        await upgrade_to_head(empty_database_url)
        async with engine.connect() as connection:
            stored = (
                await connection.execute(text("SELECT next_action FROM payments"))
            ).scalar_one()
    finally:
        await engine.dispose()
    assert (json.loads(stored) if isinstance(stored, str) else stored) == {"type": "stripe_sdk"}
