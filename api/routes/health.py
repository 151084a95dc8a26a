"""Liveness of Durapay's dependencies, and Prometheus metrics."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from api.deps import RuntimeDep
from contracts.providers import ProviderName
from db.repositories import provider_health as provider_health_repo

router = APIRouter(tags=["operations"])

CHECK_TIMEOUT_SECONDS = 2.0


async def _database_ok(runtime: RuntimeDep) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), runtime.database.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


async def _temporal_ok(runtime: RuntimeDep) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await runtime.client.workflow_service.get_system_info(GetSystemInfoRequest())
    except Exception:
        return False
    return True


@dataclass(frozen=True)
class ProviderCheck:
    status: str
    consecutive_failures: int
    open_until: datetime | None


async def _provider_checks(runtime: RuntimeDep) -> dict[str, ProviderCheck] | None:
    """Each provider's circuit as the workers last recorded it; a provider never seen failing
    is ``ok``. ``None`` when the database cannot say."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), runtime.database.sessions() as session:
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


@router.get("/health")
async def health(runtime: RuntimeDep) -> JSONResponse:
    """200 when Durapay can take payments, 503 naming what stops it.

    The database and Temporal are required. Providers are reported by their circuits (which the
    workers keep); one open circuit leaves the status ``degraded`` but still 200, because routing
    sends checkouts to the other provider and saved-method payments wait durably. All circuits
    open is a 503.
    """
    database, temporal = await asyncio.gather(_database_ok(runtime), _temporal_ok(runtime))
    providers = await _provider_checks(runtime) if database else None
    checks: dict[str, object] = {
        "database": "ok" if database else "down",
        "temporal": "ok" if temporal else "down",
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
    usable = database and temporal and len(open_circuits) < len(ProviderName)
    status = "ok" if usable and not open_circuits else "degraded"
    return JSONResponse({"status": status, "checks": checks}, status_code=200 if usable else 503)


@router.get("/metrics")
async def metrics(runtime: RuntimeDep) -> Response:
    providers = await _provider_checks(runtime)
    for name, check in (providers or {}).items():
        runtime.metrics.circuit_open.labels(name).set(1 if check.open_until else 0)
        runtime.metrics.consecutive_failures.labels(name).set(check.consecutive_failures)
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
