"""Tests in tiers, each starting only what it needs:

- ``unit/``: pure rules and mappers; start nothing.
- ``workflows/``: one workflow with fake activities on the time-skipping server; no provider, no
  database.
- ``integration/``: one part against real neighbours (repositories on SQLite and PostgreSQL,
  providers against localstripe and the PayPal sandbox, workflows with real activities on the
  time-skipping server, the API app in process).
- ``e2e/`` and ``chaos/``: the whole stack, driven over HTTP.

The whole stack (``stack``, ``api``) is one per session, started by the first test that asks for
it; its modules are imported only then, so a run of the service-free tiers neither starts nor
imports it, and a test there that asks for it is refused at collection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from settings import DEV_CLIENT_KEY

if TYPE_CHECKING:
    from tests.support.stack import Stack

TESTS = Path(__file__).parent
SERVICE_FREE_TIERS = frozenset({"unit", "workflows"})
STACK_FIXTURES = frozenset({"stack", "api"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = item.path.relative_to(TESTS).parts[0]
        wanted = STACK_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if tier in SERVICE_FREE_TIERS and wanted:
            raise pytest.UsageError(
                f"{item.nodeid} asks for {', '.join(sorted(wanted))}: the {tier} tier starts no "
                "service; move the test to tests/integration or tests/e2e"
            )


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    from tests.support.stack import running_stack  # imported here: see the module docstring

    async with running_stack(tmp_path_factory.mktemp("durapay")) as started:
        yield started


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the running API, authenticated with the dev client key."""
    async with httpx.AsyncClient(
        base_url=stack.api_url,
        headers={"Authorization": f"Bearer {DEV_CLIENT_KEY}"},
        timeout=30,
    ) as client:
        yield client
