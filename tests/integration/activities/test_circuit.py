"""A provider's circuit opens after consecutive transport failures, fails calls fast while open,
lets one probe through after the cool-down, and shows its state in the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError

from activities.providers.base import provider_failure
from activities.providers.circuit import CircuitBreaker
from contracts.errors import ErrorType
from contracts.providers import ProviderName
from db.migrate import upgrade_to_head
from db.repositories import provider_health as provider_health_repo
from db.session import create_engine, create_session_factory

STRIPE = ProviderName.STRIPE
COOL_DOWN = timedelta(seconds=30)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'circuit.db'}"
    await upgrade_to_head(url)
    engine = create_engine(url)
    yield create_session_factory(engine)
    await engine.dispose()


class Provider:
    """Counts the calls that really reach it."""

    def __init__(self) -> None:
        self.calls = 0
        self.failure: ErrorType | None = None

    async def __call__(self) -> str:
        self.calls += 1
        if self.failure is not None:
            raise provider_failure(self.failure, f"{self.failure} on call {self.calls}")
        return "answer"


async def _call(circuits: CircuitBreaker, provider: Provider) -> str | ErrorType:
    try:
        return await circuits.call(STRIPE, provider)
    except ApplicationError as error:
        return ErrorType(error.type or "")


async def _recorded(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, datetime | None]:
    async with sessions() as session:
        (row,) = await provider_health_repo.list_provider_health(session)
    return row.consecutive_failures, row.open_until


async def test_consecutive_transport_failures_open_the_circuit_for_the_cool_down(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    circuits = CircuitBreaker(sessions, threshold=3, cool_down=COOL_DOWN, clock=clock)
    stripe = Provider()
    stripe.failure = ErrorType.PROVIDER_UNAVAILABLE
    for _ in range(3):
        assert await _call(circuits, stripe) is ErrorType.PROVIDER_UNAVAILABLE
    assert circuits.open_circuits() == {STRIPE}
    assert await _recorded(sessions) == (3, clock.now + COOL_DOWN)

    assert await _call(circuits, stripe) is ErrorType.PROVIDER_UNAVAILABLE
    assert stripe.calls == 3, "an open circuit answers without calling the provider"

    clock.now += COOL_DOWN
    stripe.failure = None
    assert await _call(circuits, stripe) == "answer"
    assert stripe.calls == 4
    assert circuits.open_circuits() == frozenset()
    assert await _recorded(sessions) == (0, None)


async def test_a_failed_probe_reopens_at_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    clock = Clock()
    circuits = CircuitBreaker(sessions, threshold=2, cool_down=COOL_DOWN, clock=clock)
    stripe = Provider()
    stripe.failure = ErrorType.PROVIDER_UNAVAILABLE
    await _call(circuits, stripe)
    await _call(circuits, stripe)
    clock.now += COOL_DOWN
    assert await _call(circuits, stripe) is ErrorType.PROVIDER_UNAVAILABLE
    assert stripe.calls == 3
    assert circuits.open_circuits() == {STRIPE}


async def test_an_answer_of_any_kind_proves_the_provider_is_up(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    circuits = CircuitBreaker(sessions, threshold=2, cool_down=COOL_DOWN, clock=Clock())
    stripe = Provider()
    stripe.failure = ErrorType.PROVIDER_UNAVAILABLE
    await _call(circuits, stripe)
    for answer in (ErrorType.PROVIDER_RATE_LIMITED, ErrorType.PROVIDER_INVALID_REQUEST):
        stripe.failure = answer
        assert await _call(circuits, stripe) is answer
        stripe.failure = ErrorType.PROVIDER_UNAVAILABLE
        await _call(circuits, stripe)
    assert circuits.open_circuits() == frozenset()
    assert await _recorded(sessions) == (1, None)
