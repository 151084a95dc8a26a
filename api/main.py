"""``create_app()``: the FastAPI application and its lifespan (database, Temporal client, keys,
plan catalog)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from api.card_guard import CardGuardMiddleware
from api.deps import Services
from api.errors import install_error_handlers
from api.idempotency import hash_api_key
from api.observability import AccessLogMiddleware, Metrics
from api.paypal_signature import CertificateCache
from api.routes import (
    admin,
    customers,
    health,
    invoices,
    payments,
    plans,
    subscriptions,
    webhooks,
)
from db.repositories import api_keys as api_keys_repo
from db.repositories.plans import load_plan_catalog
from db.session import create_engine, create_session_factory
from settings import DEV_ACCOUNT_ID, DEV_ADMIN_KEY, DEV_CLIENT_KEY, Settings, get_settings

log = logging.getLogger("durapay.api")

DEV_KEYS = {DEV_CLIENT_KEY: "client", DEV_ADMIN_KEY: "admin"}

DATABASE_LOCK_WAIT = 5.0
"""Seconds a request waits for a SQLite lock held elsewhere before answering 503
``database_unavailable``: far above any normal write, well below a client's patience."""


class DevKeysInProduction(RuntimeError):
    """Raised at start-up: a production database still accepts a well-known dev key."""


async def _prepare_keys(services: Services) -> None:
    """Seed the dev keys where allowed; refuse to serve production while one still works."""
    async with services.sessions() as session:
        if services.settings.dev_keys_enabled:
            for key, role in DEV_KEYS.items():
                await api_keys_repo.ensure_api_key(
                    session,
                    key_id=f"key_dev_{role}",
                    account_id=DEV_ACCOUNT_ID,
                    role=role,
                    key_hash=hash_api_key(key),
                    label=f"dev {role} key",
                )
            await session.commit()
        elif await api_keys_repo.any_api_key_with_hash(
            session, [hash_api_key(key) for key in DEV_KEYS]
        ):
            raise DevKeysInProduction("revoke the dev API keys before running in production")


def create_app(settings: Settings | None = None, client: Client | None = None) -> FastAPI:
    """Build the app; tests pass their own settings and an already connected Temporal client."""
    settings = settings or get_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url, lock_wait=DATABASE_LOCK_WAIT)
        temporal = client or await Client.connect(
            settings.temporal_address, namespace=settings.temporal_namespace
        )
        services = Services(
            settings=settings,
            sessions=create_session_factory(engine),
            client=temporal,
            metrics=metrics,
            paypal_certs=CertificateCache(settings.paypal_certificate_allowed),
        )
        await _prepare_keys(services)
        async with services.sessions() as session, session.begin():
            await load_plan_catalog(session, settings.plan_catalog_path)
        app.state.services = services
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="Durapay",
        version="0.1.0",
        description="Payment pipelines that cannot lose money, as durable Temporal workflows.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for router in (
        payments.router,
        customers.router,
        subscriptions.router,
        plans.router,
        invoices.router,
        webhooks.router,
        admin.router,
        health.router,
    ):
        app.include_router(router)
    app.add_middleware(AccessLogMiddleware, metrics=metrics)
    app.add_middleware(CardGuardMiddleware)
    return app
