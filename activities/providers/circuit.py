"""A circuit breaker per provider: consecutive transport failures open it for a cool-down.

While a circuit is open, calls fail at once (as ``ProviderUnavailable``, which Temporal retries)
instead of waiting on a provider that is down, and routing sends new checkouts elsewhere. After the
cool-down the next call goes through as a probe: success closes the circuit, failure reopens it.

Only transport trouble counts (``ProviderUnavailable``: unreachable, timeouts, 5xx); a decline, a
refusal or a rate limit is an answer, so it proves the provider is up. The state lives in the
worker's memory, where every call can consult it for free, and is written through to the
``provider_health`` table for ``/health`` and ``/metrics``. Each worker process learns an outage
from its own calls.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError

from activities.providers.base import provider_failure
from contracts.errors import ErrorType
from contracts.providers import ProviderName
from db.repositories import provider_health as provider_health_repo

log = logging.getLogger("durapay.circuit")

T = TypeVar("T")


@dataclass
class _Circuit:
    consecutive_failures: int = 0
    open_until: datetime | None = None
    last_failure_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None


def utc_now() -> datetime:
    return datetime.now(UTC)


class CircuitBreaker:
    """Circuit state for every provider one worker talks to."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        threshold: int,
        cool_down: timedelta,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._sessions = sessions
        self._threshold = threshold
        self._cool_down = cool_down
        self._clock = clock
        self._circuits: dict[ProviderName, _Circuit] = {}
        self._writing = asyncio.Lock()

    def open_circuits(self) -> frozenset[ProviderName]:
        now = self._clock()
        return frozenset(
            provider
            for provider, circuit in self._circuits.items()
            if circuit.open_until is not None and circuit.open_until > now
        )

    async def call(self, provider: ProviderName, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run one provider call through the circuit, learning from how it ends."""
        circuit = self._circuits.setdefault(provider, _Circuit())
        if provider in self.open_circuits():
            raise provider_failure(
                ErrorType.PROVIDER_UNAVAILABLE,
                f"{provider} circuit open until {circuit.open_until:%Y-%m-%dT%H:%M:%SZ} "
                f"after {circuit.consecutive_failures} consecutive transport failures",
            )
        try:
            result = await attempt()
        except ApplicationError as error:
            if error.type == ErrorType.PROVIDER_UNAVAILABLE:
                await self._failed(provider, circuit, error.message)
            else:
                await self._answered(provider, circuit)
            raise
        await self._answered(provider, circuit)
        return result

    async def _failed(self, provider: ProviderName, circuit: _Circuit, message: str) -> None:
        now = self._clock()
        circuit.consecutive_failures += 1
        circuit.last_failure_at = now
        circuit.last_error = message[:200]
        if circuit.consecutive_failures >= self._threshold:
            if circuit.open_until is None or circuit.open_until <= now:
                log.warning("%s circuit opened: %s", provider, circuit.last_error)
            circuit.open_until = now + self._cool_down
        await self._persist(provider, circuit)

    async def _answered(self, provider: ProviderName, circuit: _Circuit) -> None:
        """The provider answered: close the circuit; write only when that changes something
        an operator can see, so healthy traffic costs no database write."""
        was_failing = circuit.consecutive_failures > 0 or circuit.last_success_at is None
        circuit.last_success_at = self._clock()
        if not was_failing:
            return
        if circuit.open_until is not None:
            log.info("%s circuit closed", provider)
        circuit.consecutive_failures = 0
        circuit.open_until = None
        await self._persist(provider, circuit)

    async def _persist(self, provider: ProviderName, circuit: _Circuit) -> None:
        """Best effort: the in-memory circuit is what protects calls; a database hiccup here
        must never fail a provider call that already happened."""
        async with self._writing:
            values = {
                "provider": provider.value,
                "consecutive_failures": circuit.consecutive_failures,
                "open_until": circuit.open_until,
                "last_failure_at": circuit.last_failure_at,
                "last_success_at": circuit.last_success_at,
                "last_error": circuit.last_error,
                "updated_at": self._clock(),
            }
            try:
                async with self._sessions() as session, session.begin():
                    await provider_health_repo.save_provider_health(session, values)
            except SQLAlchemyError:
                log.warning("could not record %s circuit state", provider, exc_info=True)
