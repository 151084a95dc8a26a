"""What the API process builds once at start and every service call shares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from temporalio.client import Client

from db.repositories import plans as plans_repo
from db.session import create_engine, create_session_factory
from services.api_keys import prepare_keys
from services.database import Database
from services.metrics import Metrics
from services.paypal_signature import CertificateCache, certificate_cache
from services.temporal_connection import connect_temporal
from settings import Settings

DATABASE_LOCK_WAIT = 5.0
"""Seconds a request waits for a SQLite lock held elsewhere before answering 503
``database_unavailable``: far above any normal write, well below a client's patience."""


@dataclass
class Runtime:
    settings: Settings
    database: Database
    client: Client
    metrics: Metrics
    paypal_certs: CertificateCache


@asynccontextmanager
async def open_runtime(
    settings: Settings, metrics: Metrics, client: Client | None = None
) -> AsyncIterator[Runtime]:
    """Connect the database and Temporal (unless given a client), seed or refuse the dev keys and
    load the plan catalog; the engine is disposed of when the block ends."""
    engine = create_engine(settings.database_url, lock_wait=DATABASE_LOCK_WAIT)
    try:
        temporal = client or await connect_temporal(settings)
        database = Database(create_session_factory(engine))
        await prepare_keys(database, settings)
        async with database.writing() as session:
            await plans_repo.load_plan_catalog(session, settings.plan_catalog_path)
        yield Runtime(
            settings=settings,
            database=database,
            client=temporal,
            metrics=metrics,
            paypal_certs=certificate_cache(settings),
        )
    finally:
        await engine.dispose()
