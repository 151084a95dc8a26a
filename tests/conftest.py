"""Session-wide real services for the test suite: a Temporal dev server, localstripe, the PayPal
sandbox, a mail sink, a migrated SQLite database, the Durapay worker and the API served over HTTP on
a free port (both provider stand-ins deliver webhooks to it). Each is started here and stopped when
the session ends."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from contracts.search_attributes import SEARCH_ATTRIBUTES
from db.migrate import upgrade_to_head
from db.session import create_engine, create_session_factory
from settings import DEV_CLIENT_KEY, Environment, Settings
from tests.support.localstripe import register_webhook, running_localstripe
from tests.support.mail import running_mail_sink
from tests.support.net import free_port
from tests.support.paths import TEMPORAL_CLI
from tests.support.paypal import running_paypal_sandbox
from worker import build_worker


@dataclass(frozen=True)
class Stack:
    """Everything a test needs to drive Durapay from the outside."""

    settings: Settings
    client: Client
    sessions: async_sessionmaker[AsyncSession]
    api_url: str
    stripe_url: str
    paypal_url: str
    mail_dir: Path
    """Where the mail sink stores every message the worker sends (``received_messages``)."""


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    with running_localstripe() as url:
        yield url


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("durapay")


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_CLI),
        search_attributes=SEARCH_ATTRIBUTES,
        ip="127.0.0.1",
        port=free_port(),
        ui=False,
    )
    try:
        yield env
    finally:
        await env.shutdown()


def make_settings(
    session_dir: Path, stripe_url: str, temporal_address: str, **overrides: object
) -> Settings:
    values: dict[str, object] = {
        "environment": Environment.TEST,
        "data_dir": session_dir,
        "database_url": f"sqlite+aiosqlite:///{session_dir / 'durapay.db'}",
        "temporal_address": temporal_address,
        "task_queue": f"durapay-test-{uuid.uuid4().hex[:8]}",
        "stripe_api_base": stripe_url,
        "paypal_api_base": f"http://127.0.0.1:{free_port()}",
        "api_port": free_port(),
        "provider_call_timeout": 10,
    }
    values.update(overrides)
    return Settings.model_validate(values)


@pytest.fixture(scope="session")
async def stack(
    temporal_env: WorkflowEnvironment, localstripe_url: str, session_dir: Path
) -> AsyncIterator[Stack]:
    mail_port = free_port()
    settings = make_settings(
        session_dir,
        localstripe_url,
        temporal_env.client.service_client.config.target_host,
        smtp_port=mail_port,
    )
    await upgrade_to_head(settings.database_url)
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, client=temporal_env.client),
            host="127.0.0.1",
            port=settings.api_port,
            log_level="warning",
            access_log=False,
        )
    )
    paypal = running_paypal_sandbox(
        int(settings.paypal_api_base.rsplit(":", 1)[1]),
        f"{settings.api_base_url}/v1/webhooks/paypal",
        settings.paypal_webhook_id,
    )
    mail_dir = session_dir / "mail"
    with paypal as paypal_url:
        async with (
            running_mail_sink(mail_dir, mail_port),
            build_worker(temporal_env.client, settings, sessions),
        ):
            serving = asyncio.create_task(server.serve())
            while not server.started:
                if serving.done():
                    serving.result()
                await asyncio.sleep(0.02)
            register_webhook(
                localstripe_url,
                "durapay-tests",
                f"{settings.api_base_url}/v1/webhooks/stripe",
                settings.stripe_webhook_secret.get_secret_value(),
            )
            try:
                yield Stack(
                    settings=settings,
                    client=temporal_env.client,
                    sessions=sessions,
                    api_url=settings.api_base_url,
                    stripe_url=localstripe_url,
                    paypal_url=paypal_url,
                    mail_dir=mail_dir,
                )
            finally:
                server.should_exit = True
                await serving
    await engine.dispose()


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the running API, authenticated with the dev client key."""
    async with httpx.AsyncClient(
        base_url=stack.api_url,
        headers={"Authorization": f"Bearer {DEV_CLIENT_KEY}"},
        timeout=30,
    ) as client:
        yield client
