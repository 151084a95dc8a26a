"""Charging an invoice from inside a workflow, shared by subscriptions and dunning.

Every attempt is a child PaymentWorkflow whose ID is derived from the invoice and the attempt
number (``in_…`` for the first, ``in_…_attempt<n>`` after), so a replayed or retried workflow
finds the payment it started instead of charging again. The child outlives its parent (ABANDON:
it stays open for refunds) and reports its outcome with the ``payment_settled`` signal, which the
parent feeds into ``settled``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
        InvoiceStatus,
        InvoiceUpdate,
    )
    from contracts.payments import Failure, PaymentInput, PaymentStatus, PaymentView
    from contracts.providers import CaptureMethod
    from contracts.search_attributes import (
        AMOUNT_MINOR,
        CURRENCY,
        CUSTOMER_ID,
        PAYMENT_STATUS,
        PROVIDER,
    )
    from contracts.subscriptions import PeriodCharge
    from money import format_amount
    from workflows.database import call_database
    from workflows.payment import PaymentWorkflow
    from workflows.policies.invoicing import attempt_payment_id


@dataclass(frozen=True)
class Collected:
    """One charge of an invoice: paid or not, by which payment, and why not."""

    paid: bool
    payment_id: str | None = None
    amount: int = 0
    failure: Failure | None = None

    def charges(self, start: datetime, end: datetime) -> list[PeriodCharge]:
        """The payment for the period from ``start`` to ``end``, if money was taken."""
        if self.payment_id is None or self.amount <= 0:
            return []
        return [PeriodCharge(self.payment_id, self.amount, start, end)]


async def collect(
    payer: InvoicePayer,
    invoice: InvoiceRecord,
    attempt: int,
    payment_method_id: str | None,
    settled: dict[str, PaymentView],
) -> Collected:
    """Charge the invoice once as ``attempt`` and record the outcome on it: whether it was paid,
    and if not, why (no ``failure`` when there was no answer, e.g. no usable payment method). A
    zero invoice needs no charge."""
    if invoice.amount_due <= 0:
        await record_invoice(invoice.id, InvoiceStatus.PAID, attempts=attempt, payment_id=None)
        return Collected(paid=True)
    payment = await charge_invoice(payer, invoice, attempt, payment_method_id, settled)
    if payment is None:
        await record_invoice(invoice.id, InvoiceStatus.OPEN, attempts=attempt, payment_id=None)
        return Collected(paid=False)
    paid = payment.status is PaymentStatus.SUCCEEDED
    await record_invoice(
        invoice.id,
        InvoiceStatus.PAID if paid else InvoiceStatus.OPEN,
        attempts=attempt,
        payment_id=payment.id,
        amount_paid=payment.amount_captured if paid else 0,
    )
    if paid:
        return Collected(paid=True, payment_id=payment.id, amount=payment.amount_captured)
    return Collected(paid=False, payment_id=payment.id, failure=payment.failure)


async def charge_invoice(
    payer: InvoicePayer,
    invoice: InvoiceRecord,
    attempt: int,
    payment_method_id: str | None,
    settled: dict[str, PaymentView],
) -> PaymentView | None:
    """Charge ``invoice`` once as attempt ``attempt``; the settled payment, or ``None`` when the
    customer has no usable payment method (nothing was attempted)."""
    target: ChargeTarget | None = await call_database(
        BillingActivities.charge_target,
        ChargeTargetRequest(payer.customer_id, payment_method_id),
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


async def record_invoice(
    invoice_id: str,
    status: InvoiceStatus,
    *,
    attempts: int,
    payment_id: str | None,
    amount_paid: int = 0,
    next_attempt: datetime | None = None,
) -> None:
    """Record where the invoice stands: its status, attempts so far, the paying payment."""
    await call_database(
        BillingActivities.update_invoice,
        InvoiceUpdate(
            invoice_id=invoice_id,
            status=status,
            amount_paid=amount_paid,
            attempt_count=attempts,
            next_payment_attempt=next_attempt,
            payment_id=payment_id,
            updated_at=workflow.now(),
        ),
    )
