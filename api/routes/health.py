"""Liveness of Durapay's dependencies, and Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from api.deps import ServicesDep

router = APIRouter(tags=["operations"])

CHECK_TIMEOUT_SECONDS = 2.0


async def _database_ok(services: ServicesDep) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), services.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


async def _temporal_ok(services: ServicesDep) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await services.client.workflow_service.get_system_info(GetSystemInfoRequest())
    except Exception:
        return False
    return True


@router.get("/health")
async def health(services: ServicesDep) -> JSONResponse:
    """200 when the required dependencies answer, 503 naming the one that does not.

    Providers are called only by the worker; here they are reported as configured, and their
    reachability shows in payments staying ``processing`` while an outage lasts.
    """
    database, temporal = await asyncio.gather(_database_ok(services), _temporal_ok(services))
    checks = {
        "database": "ok" if database else "down",
        "temporal": "ok" if temporal else "down",
        "stripe": "configured",
        "paypal": "not_configured",
    }
    healthy = database and temporal
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status_code=200 if healthy else 503,
    )


@router.get("/metrics")
async def metrics(services: ServicesDep) -> Response:
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
