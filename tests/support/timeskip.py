"""Durapay's real worker on a time-skipping server: days pass in milliseconds while the providers
and the database stay the session stack's. For the integration tests of long waits."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from sandbox.faults.proxy import FaultProxy
from settings import Settings
from tests.support.stack import Stack
from tests.support.time_skipping import time_skipping_server
from worker import build_worker


@dataclass(frozen=True)
class TimeSkipping:
    env: WorkflowEnvironment
    client: Client
    settings: Settings


@asynccontextmanager
async def time_skipping(stack: Stack, **overrides: object) -> AsyncIterator[TimeSkipping]:
    """A time-skipping server with its own worker on the session's database and provider
    stand-ins; ``overrides`` change that worker's settings (e.g. a fault proxy as Stripe)."""
    settings = stack.settings.model_copy(
        update={"task_queue": f"timeskip-{uuid.uuid4().hex[:8]}", **overrides}
    )
    async with (
        time_skipping_server() as env,
        build_worker(env.client, settings, stack.sessions),
    ):
        yield TimeSkipping(env=env, client=env.client, settings=settings)


@dataclass
class Proxied:
    """A time-skipping worker that reaches localstripe through a fault proxy, so a test can
    play the issuer (a decline localstripe's cards never give) or hold a call mid-renewal."""

    timeskip: TimeSkipping
    proxy: FaultProxy
    started: list[str] = field(default_factory=list)
    """Subscriptions the current test started; canceled after it."""
