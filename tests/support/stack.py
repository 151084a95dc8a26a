"""The whole of Durapay on localhost for the integration, end-to-end and chaos tiers: a Temporal
dev server, localstripe, the PayPal sandbox, a mail sink, a migrated SQLite database, the Durapay
worker and the API served over HTTP on a free port (both provider stand-ins deliver webhooks to
it). ``running_stack`` starts them in that order and stops them in reverse."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from contracts.search_attributes import SEARCH_ATTRIBUTES
from db.migrate import upgrade_to_head
from db.session import create_engine, create_session_factory
from settings import Environment, Settings
from tests.support.codec import TEST_CONVERTER
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
        # Tests share the dev keys and burst on purpose (storms, concurrency); the limits have
        # tests of their own (tests/integration/api/test_edge*.py).
        "rate_limit_api": "100000/second",
        "rate_limit_public_view": "100000/second",
        "rate_limit_public_action": "100000/second",
    }
    values.update(overrides)
    return Settings.model_validate(values)


@asynccontextmanager
async def running_stack(session_dir: Path) -> AsyncIterator[Stack]:
    with running_localstripe() as localstripe_url:
        async with (
            _temporal_dev_server() as temporal_env,
            _durapay(temporal_env.client, localstripe_url, session_dir) as stack,
        ):
            yield stack


@asynccontextmanager
async def _temporal_dev_server() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_CLI),
        search_attributes=SEARCH_ATTRIBUTES,
        ip="127.0.0.1",
        port=free_port(),
        ui=False,
        data_converter=TEST_CONVERTER,
    )
    try:
        yield env
    finally:
        await env.shutdown()


@asynccontextmanager
async def _durapay(client: Client, localstripe_url: str, session_dir: Path) -> AsyncIterator[Stack]:
    mail_port = free_port()
    settings = make_settings(
        session_dir,
        localstripe_url,
        client.service_client.config.target_host,
        smtp_port=mail_port,
    )
    await upgrade_to_head(settings.database_url)
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, client=client),
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
            build_worker(client, settings, sessions),
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
                    client=client,
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
