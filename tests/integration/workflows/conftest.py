"""Temporal's time-skipping test server for long waits: days pass in milliseconds while the
providers and the database stay real. One server per test module."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from contracts.search_attributes import SEARCH_ATTRIBUTES
from contracts.subscriptions import CancelSubscriptionRequest, SubscriptionStatus, SubscriptionView
from sandbox.faults.proxy import FaultProxy
from settings import Settings
from tests.conftest import Stack
from tests.support.net import free_port
from tests.support.paths import TEMPORAL_TEST_SERVER
from worker import build_worker
from workflows.subscription import SubscriptionWorkflow


@dataclass(frozen=True)
class TimeSkipping:
    env: WorkflowEnvironment
    client: Client
    settings: Settings


@asynccontextmanager
async def time_skipping(stack: Stack, **overrides: object) -> AsyncIterator[TimeSkipping]:
    """A time-skipping server with its own worker on the session's database and provider
    stand-ins; ``overrides`` change that worker's settings (e.g. a fault proxy as Stripe)."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEMPORAL_TEST_SERVER)
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type)
                for key in SEARCH_ATTRIBUTES
            },
        )
    )
    settings = stack.settings.model_copy(
        update={"task_queue": f"timeskip-{uuid.uuid4().hex[:8]}", **overrides}
    )
    try:
        async with build_worker(env.client, settings, stack.sessions):
            yield TimeSkipping(env=env, client=env.client, settings=settings)
    finally:
        await env.shutdown()


@pytest.fixture(scope="module")
async def timeskip(stack: Stack) -> AsyncIterator[TimeSkipping]:
    async with time_skipping(stack) as skipping:
        yield skipping


@dataclass
class Proxied:
    """A time-skipping worker that reaches localstripe through a fault proxy, so a test can
    play the issuer (a decline localstripe's cards never give) or hold a call mid-renewal."""

    timeskip: TimeSkipping
    proxy: FaultProxy
    started: list[str] = field(default_factory=list)
    """Subscriptions the current test started; canceled after it."""


@pytest.fixture(scope="module")
async def proxied_module(stack: Stack) -> AsyncIterator[Proxied]:
    proxy = FaultProxy(stack.stripe_url)
    await proxy.start(free_port())
    try:
        async with time_skipping(stack, stripe_api_base=proxy.url) as skipping:
            yield Proxied(skipping, proxy)
    finally:
        await proxy.stop()


@pytest.fixture
async def proxied(proxied_module: Proxied) -> AsyncIterator[Proxied]:
    """One test's view of the module: no rules from earlier tests, and its subscriptions canceled
    afterwards, so their renewals cannot run into the next test's faults."""
    proxied_module.proxy.rules.clear()
    proxied_module.started.clear()
    yield proxied_module
    proxied_module.proxy.release_all()
    for subscription_id in proxied_module.started:
        handle = proxied_module.timeskip.client.get_workflow_handle(subscription_id)
        view: SubscriptionView = await handle.query(SubscriptionWorkflow.state)
        if view.status not in (SubscriptionStatus.CANCELED, SubscriptionStatus.UNPAID):
            await handle.execute_update(
                SubscriptionWorkflow.cancel, CancelSubscriptionRequest(at_period_end=False)
            )
