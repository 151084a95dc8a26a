"""Workflows with their real activities on Temporal's time-skipping test server: days pass in
milliseconds while the providers and the database stay real. One server per test module."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from contracts.subscriptions import CancelSubscriptionRequest, SubscriptionStatus, SubscriptionView
from sandbox.faults.proxy import FaultProxy
from tests.support.net import free_port
from tests.support.stack import Stack
from tests.support.timeskip import Proxied, TimeSkipping, time_skipping
from workflows.subscription import SubscriptionWorkflow


@pytest.fixture(scope="module")
async def timeskip(stack: Stack) -> AsyncIterator[TimeSkipping]:
    async with time_skipping(stack) as skipping:
        yield skipping


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
