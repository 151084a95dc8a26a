"""Liveness of Durapay's dependencies, and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import RuntimeDep
from api.schemas.health import HealthOut
from services import health as health_service

router = APIRouter(tags=["operations"])


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "Durapay cannot take payments"}},
)
async def health(runtime: RuntimeDep) -> JSONResponse:
    """200 when Durapay can take payments, 503 naming what stops it.

    The database and Temporal are required. ``worker`` says whether a worker polls the task
    queue; with none the status is ``degraded`` but still 200: payments are accepted and wait
    durably for a worker, and a deployment that gates its workers on the API's health must not
    wait forever. Providers are reported by their circuits (which the workers keep); one open
    circuit leaves the status ``degraded`` but still 200, because routing sends checkouts to the
    other provider and saved-method payments wait durably. All circuits open is a 503.
    """
    report = await health_service.health(runtime)
    return JSONResponse(
        {"status": report.status, "checks": report.checks},
        status_code=200 if report.usable else 503,
    )


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(runtime: RuntimeDep) -> Response:
    await health_service.refresh_metrics(runtime)
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
