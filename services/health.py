"""Whether Durapay can take payments: the database, Temporal, a worker polling the task queue, and
each provider's circuit."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from contracts.providers import ProviderName
from db.repositories import liveness as liveness_repo
from db.repositories import provider_health as provider_health_repo
from services import temporal
from services.alerts import refresh_alert_metrics
from services.runtime import Runtime

CHECK_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class ProviderCheck:
    status: str
    consecutive_failures: int
    open_until: datetime | None


@dataclass(frozen=True)
class Health:
    status: str
    """``ok`` when usable with a worker polling and every circuit closed, ``degraded`` otherwise."""
    checks: dict[str, str]
    """Each dependency by name (``database``, ``temporal``, ``worker``, then each provider):
    ``ok``, ``down``, ``unknown`` or ``circuit_open until …``."""
    usable: bool
    """Whether payments can be taken at all (200) or not (503)."""


async def _database_ok(runtime: Runtime) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), runtime.database.reading() as session:
            await liveness_repo.ping(session)
    except Exception:
        return False
    return True


async def provider_checks(runtime: Runtime) -> dict[str, ProviderCheck] | None:
    """Each provider's circuit as the workers last recorded it; a provider never seen failing
    is ``ok``. ``None`` when the database cannot say."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), runtime.database.reading() as session:
            rows = await provider_health_repo.list_provider_health(session)
    except Exception:
        return None
    now = datetime.now(UTC)
    checks = {name.value: ProviderCheck("ok", 0, None) for name in ProviderName}
    for row in rows:
        is_open = row.open_until is not None and row.open_until > now
        checks[row.provider] = ProviderCheck(
            "circuit_open" if is_open else "ok",
            row.consecutive_failures,
            row.open_until if is_open else None,
        )
    return checks


async def health(runtime: Runtime) -> Health:
    """The database and Temporal are required; a missing worker and providers' circuits make
    Durapay degraded, not unusable (see the ``/health`` route for why)."""
    database, reachable, polled = await asyncio.gather(
        _database_ok(runtime),
        temporal.reachable(runtime.client, CHECK_TIMEOUT_SECONDS),
        temporal.worker_polling(runtime.client, runtime.settings.task_queue, CHECK_TIMEOUT_SECONDS),
    )
    providers = await provider_checks(runtime) if database else None
    checks = {
        "database": "ok" if database else "down",
        "temporal": "ok" if reachable else "down",
        "worker": "unknown" if polled is None else "ok" if polled else "down",
    }
    for name in ProviderName:
        check = providers.get(name.value) if providers else None
        checks[name.value] = (
            "unknown"
            if check is None
            else check.status
            if check.open_until is None
            else f"circuit_open until {check.open_until:%Y-%m-%dT%H:%M:%SZ}"
        )
    open_circuits = [name for name, check in (providers or {}).items() if check.open_until]
    usable = database and reachable and len(open_circuits) < len(ProviderName)
    healthy = usable and polled and not open_circuits
    return Health("ok" if healthy else "degraded", checks, usable)


async def refresh_metrics(runtime: Runtime) -> None:
    """Copy what the workers recorded (circuits, alerts) into the API's metrics before a scrape."""
    await refresh_alert_metrics(runtime.database, runtime.metrics)
    for name, check in (await provider_checks(runtime) or {}).items():
        runtime.metrics.circuit_open.labels(name).set(1 if check.open_until else 0)
        runtime.metrics.consecutive_failures.labels(name).set(check.consecutive_failures)
