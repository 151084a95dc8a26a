"""Workflows with fake activities on Temporal's time-skipping test server: no provider, no
database, no dev server. Each test has a server of its own (it starts in about a tenth of a
second, and skipped time is global to a server, so nothing one test leaves running can move
another's clock) and a task queue of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.support.time_skipping import time_skipping_server
from tests.workflows.fakes import FakeProvider, FakeRecords


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_server() as server:
        yield server


@pytest.fixture
def task_queue() -> str:
    return f"workflow-test-{uuid.uuid4().hex}"


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def records() -> FakeRecords:
    return FakeRecords()
