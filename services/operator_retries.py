"""An operator's retry of an invoice in dunning: charge it now, once.

The retry is the ``retry_now`` update of the invoice's ``dun_…`` workflow, the one writer of its
attempts, so a retry while a charge is in flight joins that charge and a repeated request (same
Idempotency-Key, hence the same update ID) gets the first answer back. Temporal's UI sends the
same update.
"""

from __future__ import annotations

from contracts.reconciliation import InvoiceRetryRequest, InvoiceRetryResult
from contracts.workflow_names import DunningUpdate
from db.repositories import dunning as dunning_repo
from services import errors, temporal
from services.idempotency import derive_id
from services.runtime import Runtime

OPEN_CASE = "open"


async def retry_invoice(
    runtime: Runtime, invoice_id: str, idempotency_key: str
) -> InvoiceRetryResult:
    async with runtime.database.reading() as session:
        case = await dunning_repo.get_dunning_case(session, invoice_id)
    if case is None:
        raise errors.NotFound(f"No dunning case for invoice {invoice_id}.")
    if case.status != OPEN_CASE:
        raise errors.InvoiceNotInDunning(
            f"The dunning case of invoice {invoice_id} is {case.status}."
        )
    return await temporal.update_workflow(
        runtime.client,
        case.id,
        DunningUpdate.RETRY_NOW,
        InvoiceRetryRequest(key=idempotency_key),
        derive_id("retry_", invoice_id, idempotency_key),
        InvoiceRetryResult,
    )
