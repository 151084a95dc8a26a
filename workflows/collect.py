"""Charging an invoice from inside a workflow, shared by subscriptions and dunning.

Every attempt is a child PaymentWorkflow whose ID is derived from the invoice and the attempt
number (``in_…`` for the first, ``in_…_attempt<n>`` after), so a replayed or retried workflow
finds the payment it started instead of charging again. The child outlives its parent (ABANDON:
it stays open for refunds) and reports its outcome with the ``payment_settled`` signal, which the
parent feeds into ``settled``.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.billing import BillingActivities
    from contracts.billing import (
        ChargeTarget,
        ChargeTargetRequest,
        InvoicePayer,
        InvoiceRecord,
        InvoiceUpdate,
    )
    from contracts.payments import PaymentInput, PaymentStatus, PaymentView
    from contracts.providers import CaptureMethod
    from contracts.search_attributes import (
        AMOUNT_MINOR,
        CURRENCY,
        CUSTOMER_ID,
        PAYMENT_STATUS,
        PROVIDER,
    )
    from money import format_amount
    from workflows.payment import PaymentWorkflow
    from workflows.policies import RECORD_RETRY_POLICY

DB_TIMEOUT = timedelta(seconds=30)


def attempt_payment_id(invoice_id: str, attempt: int) -> str:
    return invoice_id if attempt == 1 else f"{invoice_id}_attempt{attempt}"


async def charge_invoice(
    payer: InvoicePayer,
    invoice: InvoiceRecord,
    attempt: int,
    payment_method_id: str | None,
    settled: dict[str, PaymentView],
) -> PaymentView | None:
    """Charge ``invoice`` once as attempt ``attempt``; the settled payment, or ``None`` when the
    customer has no usable payment method (nothing was attempted)."""
    target: ChargeTarget | None = await workflow.execute_activity_method(
        BillingActivities.charge_target,
        ChargeTargetRequest(payer.customer_id, payment_method_id),
        start_to_close_timeout=DB_TIMEOUT,
        retry_policy=RECORD_RETRY_POLICY,
    )
    if target is None:
        return None
    payment_id = attempt_payment_id(invoice.id, attempt)
    workflow.set_current_details(f"charging {invoice.id} (attempt {attempt}) as {payment_id}")
    await workflow.start_child_workflow(
        PaymentWorkflow.run,
        _payment_input(payer, invoice, target, payment_id),
        id=payment_id,
        task_queue=workflow.info().task_queue,
        parent_close_policy=ParentClosePolicy.ABANDON,
        static_summary=(
            f"Invoice {invoice.id}: {format_amount(invoice.amount_due, invoice.currency)} "
            f"{invoice.currency} for {payer.customer_id}"
        ),
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(CUSTOMER_ID, payer.customer_id),
                SearchAttributePair(PAYMENT_STATUS, PaymentStatus.PROCESSING.value),
                SearchAttributePair(PROVIDER, target.provider.value),
                SearchAttributePair(AMOUNT_MINOR, invoice.amount_due),
                SearchAttributePair(CURRENCY, invoice.currency),
            ]
        ),
    )
    await workflow.wait_condition(lambda: payment_id in settled)
    return settled[payment_id]


def _payment_input(
    payer: InvoicePayer, invoice: InvoiceRecord, target: ChargeTarget, payment_id: str
) -> PaymentInput:
    return PaymentInput(
        payment_id=payment_id,
        account_id=payer.account_id,
        request_hash=f"invoice:{invoice.id}",
        amount=invoice.amount_due,
        currency=invoice.currency,
        customer_id=payer.customer_id,
        provider=target.provider,
        capture_method=CaptureMethod.AUTOMATIC,
        timeouts=payer.timeouts,
        created_at=workflow.now(),
        payment_method_id=target.payment_method_id,
        provider_customer_ref=target.provider_customer_ref,
        payment_method_ref=target.payment_method_ref,
        metadata={"invoice_id": invoice.id, "subscription_id": payer.subscription_id},
        notify_workflow_id=workflow.info().workflow_id,
        merchant_initiated=True,
    )


async def record_invoice(update: InvoiceUpdate) -> None:
    await workflow.execute_activity_method(
        BillingActivities.update_invoice,
        update,
        start_to_close_timeout=DB_TIMEOUT,
        retry_policy=RECORD_RETRY_POLICY,
    )
