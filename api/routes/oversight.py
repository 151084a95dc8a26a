"""What operators watch: alerts to act on and the audit log of who changed what."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import AdminDep, PageQueryDep, RuntimeDep
from api.problems import problems
from api.schemas.common import Page, page_of
from api.schemas.oversight import AlertOut, AlertResolve, AuditEntryOut, AuditVerification
from services import alerts, audit, errors
from services.alerts import AlertFilter

router = APIRouter(prefix="/v1/admin", tags=["admin"])

Filter = Annotated[str | None, Query(max_length=64)]


@router.get("/alerts")
async def list_alerts(
    admin: AdminDep,
    runtime: RuntimeDep,
    paging: PageQueryDep,
    customer_id: Filter = None,
    kind: Filter = None,
    severity: Literal["low", "medium", "high"] | None = None,
    status: Literal["open", "resolved"] | None = None,
) -> Page[AlertOut]:
    """The account's alerts, newest first; one per cause and window."""
    rows, has_more = await alerts.list_alerts(
        runtime.database,
        admin.account_id,
        AlertFilter(customer_id=customer_id, kind=kind, severity=severity, status=status),
        limit=paging.limit,
        starting_after=paging.starting_after,
    )
    return page_of(AlertOut, rows, has_more)


@router.post("/alerts/{alert_id}/resolve", responses=problems(errors.NotFound, errors.InvalidState))
async def resolve_alert(
    alert_id: str, body: AlertResolve, admin: AdminDep, runtime: RuntimeDep
) -> AlertOut:
    """Close an open alert with what was done about it; a resolved alert stays as it was."""
    alert = await alerts.resolve(runtime.database, admin.account_id, alert_id, body.resolution)
    return AlertOut.model_validate(alert)


@router.get("/audit")
async def list_audit_entries(
    admin: AdminDep,
    runtime: RuntimeDep,
    paging: PageQueryDep,
    resource_id: Filter = None,
    action: Filter = None,
) -> Page[AuditEntryOut]:
    """The account's audit log, newest first."""
    rows, has_more = await audit.list_entries(
        runtime.database,
        admin.account_id,
        resource_id=resource_id,
        action=action,
        limit=paging.limit,
        starting_after=paging.starting_after,
    )
    return page_of(AuditEntryOut, rows, has_more)


@router.get("/audit/verify")
async def verify_audit_log(admin: AdminDep, runtime: RuntimeDep) -> AuditVerification:
    """Recompute the account's chain: ``ok`` with how many entries were checked, or the first
    entry that was changed, removed or reordered."""
    return AuditVerification.model_validate(await audit.verify(runtime.database, admin.account_id))
