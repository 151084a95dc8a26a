"""deploy/postgres/init-users.sh, run as the PostgreSQL image runs it on a first start, against a
real server: Durapay migrates its own database as its own role, Temporal creates its databases
as its role (what the temporal-schema job's `create` does), and neither role can read the other's
data."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError

from db.migrate import upgrade_to_head
from db.session import create_engine
from tests.support.postgres import SUPERUSER, postgres_cluster
from tests.support.processes import ROOT

pytestmark = pytest.mark.postgres

INIT_SCRIPT = ROOT / "deploy" / "postgres" / "init-users.sh"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    """A fresh cluster on which the init script has run; its host and port."""
    with postgres_cluster() as cluster:
        url = make_url(cluster.url)
        assert url.host is not None and url.port is not None
        done = subprocess.run(
            ["sh", str(INIT_SCRIPT)],
            env={
                "PATH": os.environ["PATH"],
                "PGHOST": url.host,
                "PGPORT": str(url.port),
                "POSTGRES_USER": SUPERUSER,
                "TEMPORAL_DB_PASSWORD": "temporal-password",
                "DURAPAY_DB_PASSWORD": "durapay-password",
            },
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        yield url.host, url.port


def url_of(server: tuple[str, int], user: str, database: str) -> str:
    host, port = server
    return f"postgresql+asyncpg://{user}:{user}-password@{host}:{port}/{database}"


async def execute(url: str, *statements: str, autocommit: bool = False) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            if autocommit:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
            for statement in statements:
                await connection.execute(text(statement))
            await connection.commit()
    finally:
        await engine.dispose()


async def test_each_service_works_in_its_own_database_and_not_in_the_other(
    server: tuple[str, int],
) -> None:
    durapay = url_of(server, "durapay", "durapay")
    await upgrade_to_head(durapay)
    await execute(durapay, "SELECT count(*) FROM payments")

    await execute(
        url_of(server, "temporal", "postgres"), "CREATE DATABASE temporal", autocommit=True
    )
    temporal = url_of(server, "temporal", "temporal")
    await execute(temporal, "CREATE TABLE executions (id text)")

    with pytest.raises(DBAPIError, match="permission denied for database"):
        await execute(url_of(server, "temporal", "durapay"), "SELECT 1")
    with pytest.raises(DBAPIError, match="permission denied for table executions"):
        await execute(url_of(server, "durapay", "temporal"), "SELECT * FROM executions")
    with pytest.raises(DBAPIError, match="permission denied to create database"):
        await execute(url_of(server, "durapay", "durapay"), "CREATE DATABASE x", autocommit=True)
