"""Operator routes (role ``admin``): reconciliation runs and retrying an invoice in dunning."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AdminDep, IdempotencyKeyDep, RuntimeDep
from api.problems import problems
from api.schemas.reconciliation import (
    InvoiceRetryOut,
    ReconciliationRunList,
    ReconciliationRunOut,
)
from services import errors, operator_retries, reconciliation

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.get("/reconciliation/runs")
async def list_runs(runtime: RuntimeDep, _admin: AdminDep) -> ReconciliationRunList:
    """The most recent reconciliation runs, newest first; a run in progress has no
    ``finished_at`` yet. ``drift`` lists each difference found and what was done about it
    (``signaled``, ``canceled``, ``alerted``, ``redelivered``)."""
    runs = await reconciliation.list_runs(runtime)
    return ReconciliationRunList(data=[ReconciliationRunOut.model_validate(r) for r in runs])


@router.post("/reconciliation/runs", status_code=202)
async def start_run(runtime: RuntimeDep, _admin: AdminDep) -> ReconciliationRunOut:
    """Start a reconciliation run now, beside the hourly Schedule's; follow it in the list."""
    started = await reconciliation.start_run(runtime)
    return ReconciliationRunOut(
        id=started.id, started_at=started.started_at, finished_at=None, checked=0, drift=[]
    )


@router.post(
    "/invoices/{invoice_id}/retry",
    responses=problems(errors.NotFound, errors.InvoiceNotInDunning, errors.InvalidState),
)
async def retry_invoice(
    invoice_id: str, runtime: RuntimeDep, _admin: AdminDep, idempotency_key: IdempotencyKeyDep
) -> InvoiceRetryOut:
    """Charge an unpaid invoice in dunning now, once: a retry while a charge is in flight joins
    that charge (``joined``), and the same Idempotency-Key answers the first retry again."""
    result = await operator_retries.retry_invoice(runtime, invoice_id, idempotency_key)
    return InvoiceRetryOut.model_validate(result)
