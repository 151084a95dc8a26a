"""DunningWorkflow: chasing one unpaid renewal invoice until it is paid or given up.

A child of the subscription, ID ``dun_<invoice id>``. The schedule's days (3, 7 and 14 after the
first failure by default) are checkpoints: at each one the invoice is charged again if the
payment method is still worth trying, and the customer is mailed what happens next. A hard
decline stops retries on that method but not the clock; a new payment method (signal
``retry_with``) is tried at once, whatever the day, and so is an operator's ``retry_now`` update,
which joins a charge already in flight rather than starting another. The subscription owns its
own status and
entitlement; this workflow owns the invoice's attempts, the dunning case and the mails, and
returns the outcome.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.billing import BillingActivities
    from activities.notify import NotifyActivities
    from contracts.billing import (
        DunningCaseClosing,
        DunningCaseOpening,
        DunningInput,
        DunningOutcome,
        DunningResult,
        InvoiceStatus,
    )
    from contracts.errors import ErrorType
    from contracts.mail import MailRequest, MailTemplate
    from contracts.payments import PaymentSettled, PaymentStatus, PaymentView
    from contracts.reconciliation import (
        InvoiceRetryOutcome,
        InvoiceRetryRequest,
        InvoiceRetryResult,
    )
    from contracts.subscriptions import PaymentMethodChange
    from contracts.workflow_names import DunningSignal, DunningUpdate, WorkflowName
    from workflows import handlers
    from workflows.collect import charge_invoice, record_invoice
    from workflows.database import call_database
    from workflows.details import at
    from workflows.policies.declines import decline_of, method_exhausted
    from workflows.policies.retries import (
        MAIL_RETRY_POLICY,
        MAIL_TIMEOUT,
    )


def dunning_workflow_id(invoice_id: str) -> str:
    return f"dun_{invoice_id}"


@workflow.defn(name=WorkflowName.DUNNING)
class DunningWorkflow:
    """One unpaid invoice; returns whether it was recovered, lost, or abandoned."""

    @workflow.init
    def __init__(self, case: DunningInput) -> None:
        self._case = case
        self._settled: dict[str, PaymentView] = {}
        self._new_methods: list[str] = []
        self._stopped = False
        self._attempts = case.first_attempt
        self._method = case.payment_method_id
        self._method_failures = 1
        self._usable = case.payment_method_id is not None and not method_exhausted(
            decline_of(case.first_failure), self._method_failures
        )
        self._paid_by: str | None = None
        self._amount_paid = 0
        self._charging = False
        self._last_payment: str | None = None
        self._next_due: datetime | None = None
        self._finishing = False

    @workflow.run
    async def run(self, case: DunningInput) -> DunningResult:
        await call_database(
            BillingActivities.open_dunning_case,
            DunningCaseOpening(case.invoice, case.payer, case.failed_at),
        )
        await self._mail(MailTemplate.PAYMENT_FAILED)
        schedule = case.billing.retry_days
        for index, day in enumerate(schedule):
            due = case.failed_at + timedelta(days=day)
            last = index == len(schedule) - 1
            if last:
                await self._mail(MailTemplate.FINAL_NOTICE)
            self._next_due = due
            await self._record_invoice(
                InvoiceStatus.OPEN, next_attempt=due if self._usable else None
            )
            while await self._new_method_before(due):
                if self._paid_by is not None:
                    return await self._finish(DunningOutcome.RECOVERED)
                if self._stopped:
                    return await self._finish(DunningOutcome.ABANDONED)
                if await self._attempt_with_new_method(due):
                    return await self._finish(DunningOutcome.RECOVERED)
            if self._usable and await self._attempt():
                return await self._finish(DunningOutcome.RECOVERED)
            if not last:
                await self._mail(MailTemplate.PAYMENT_FAILED_AGAIN)
        return await self._finish(DunningOutcome.LOST)

    async def _new_method_before(self, due: datetime) -> bool:
        """Wait for the checkpoint; True when a new method, a stop, or an operator's retry that
        paid came first."""

        def arrived() -> bool:
            return bool(self._new_methods) or self._stopped or self._paid_by is not None

        remaining = due - workflow.now()
        if remaining <= timedelta(0):
            return arrived()
        workflow.set_current_details(
            f"{self._case.invoice.id} unpaid after {self._attempts} attempt(s); "
            f"{'retrying at' if self._usable else 'waiting for a new payment method until'} "
            f"{at(due)}"
        )
        try:
            await workflow.wait_condition(arrived, timeout=remaining)
        except TimeoutError:
            return False
        return True

    async def _attempt_with_new_method(self, due: datetime) -> bool:
        self._method = self._new_methods[-1]
        self._new_methods.clear()
        self._method_failures = 0
        paid = await self._attempt()
        if not paid:
            await self._record_invoice(
                InvoiceStatus.OPEN, next_attempt=due if self._usable else None
            )
        return paid

    async def _attempt(self) -> bool:
        """Charge the invoice again; True when paid. A failure updates whether the method is
        still worth trying. One charge at a time: an attempt that finds one in flight (the
        schedule's and an operator's retry meeting) waits for it and takes its outcome."""
        if self._charging:
            await workflow.wait_condition(lambda: not self._charging)
            return self._paid_by is not None
        self._charging = True
        try:
            return await self._charge()
        finally:
            self._charging = False

    async def _charge(self) -> bool:
        case = self._case
        attempt = self._attempts + 1
        payment = await charge_invoice(
            case.payer, case.invoice, attempt, self._method, self._settled
        )
        if payment is None:
            self._usable = False
            return False
        self._attempts = attempt
        self._last_payment = payment.id
        if payment.status is PaymentStatus.SUCCEEDED:
            self._paid_by = payment.id
            self._amount_paid = payment.amount_captured
            await self._record_invoice(InvoiceStatus.PAID, amount_paid=payment.amount_captured)
            return True
        self._method_failures += 1
        self._usable = not method_exhausted(decline_of(payment.failure), self._method_failures)
        return False

    async def _finish(self, outcome: DunningOutcome) -> DunningResult:
        self._finishing = True
        recovered = outcome is DunningOutcome.RECOVERED
        if outcome is DunningOutcome.LOST:
            await self._record_invoice(InvoiceStatus.UNCOLLECTIBLE)
        elif outcome is DunningOutcome.ABANDONED:
            await self._record_invoice(InvoiceStatus.VOID)
        await call_database(
            BillingActivities.close_dunning_case,
            DunningCaseClosing(self._case.invoice.id, recovered, workflow.now()),
        )
        if recovered:
            await self._mail(MailTemplate.PAYMENT_RECOVERED)
        elif outcome is DunningOutcome.LOST:
            await self._mail(MailTemplate.SUBSCRIPTION_CANCELED)
        workflow.set_current_details(f"{self._case.invoice.id}: {outcome}")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return DunningResult(
            outcome=outcome,
            payment_id=self._paid_by,
            attempts=self._attempts,
            amount_paid=self._amount_paid,
        )

    async def _record_invoice(
        self, status: InvoiceStatus, amount_paid: int = 0, next_attempt: datetime | None = None
    ) -> None:
        await record_invoice(
            self._case.invoice.id,
            status,
            attempts=self._attempts,
            payment_id=self._paid_by,
            amount_paid=amount_paid,
            next_attempt=next_attempt,
        )

    async def _mail(self, template: MailTemplate) -> None:
        """Each stage mails once: the outbox key is this case and the stage. A mail that cannot
        be sent is logged and skipped: chasing the money matters more than the reminder."""
        case = self._case
        try:
            await workflow.execute_activity_method(
                NotifyActivities.send_mail,
                MailRequest(
                    key=f"{workflow.info().workflow_id}:{template.value}",
                    customer_id=case.payer.customer_id,
                    template=template,
                    context={
                        "plan_name": case.plan_name,
                        "amount": str(case.invoice.amount_due),
                        "currency": case.invoice.currency,
                        "update_payment_method_url": case.billing.update_payment_method_url,
                    },
                ),
                start_to_close_timeout=MAIL_TIMEOUT,
                retry_policy=MAIL_RETRY_POLICY,
            )
        except ActivityError as error:
            workflow.logger.warning("mail %s not sent: %s", template.value, error.cause)

    # ------------------------------------------------------------------ updates

    @handlers.update(DunningUpdate.RETRY_NOW)
    async def retry_now(self, request: InvoiceRetryRequest) -> InvoiceRetryResult:
        """An operator charges the invoice now (the API's ``POST /v1/admin/invoices/{id}/retry``
        or the Temporal UI). A charge already in flight is joined, not repeated; a retry that
        declines leaves the schedule as it was. Temporal answers a repeated update ID with the
        first answer, so a retried request never charges twice either."""
        joined = self._charging
        paid = await self._attempt()
        if not paid and not joined:
            await self._record_invoice(
                InvoiceStatus.OPEN, next_attempt=self._next_due if self._usable else None
            )
        return InvoiceRetryResult(
            invoice_id=self._case.invoice.id,
            outcome=InvoiceRetryOutcome.PAID if paid else InvoiceRetryOutcome.FAILED,
            attempts=self._attempts,
            payment_id=self._paid_by or self._last_payment,
            joined=joined,
        )

    @retry_now.validator
    def _validate_retry_now(self, request: InvoiceRetryRequest) -> None:
        if self._paid_by is not None or self._finishing or self._stopped:
            raise ApplicationError(
                f"Invoice {self._case.invoice.id} is no longer in dunning.",
                type=ErrorType.INVOICE_NOT_IN_DUNNING,
                non_retryable=True,
            )
        if not self._usable and not self._charging:
            raise ApplicationError(
                "No payment method on file may be charged again (none is usable, or the issuer "
                "refused it for good); the customer must give a new one.",
                type=ErrorType.INVALID_STATE,
                non_retryable=True,
            )

    # ------------------------------------------------------------------ signals

    @workflow.signal(name=DunningSignal.PAYMENT_SETTLED)
    def payment_settled(self, settled: PaymentSettled) -> None:
        self._settled[settled.payment.id] = settled.payment

    @workflow.signal(name=DunningSignal.RETRY_WITH)
    def retry_with(self, change: PaymentMethodChange) -> None:
        """The customer saved a new payment method: charge it now, whatever the schedule says."""
        self._new_methods.append(change.payment_method_id)

    @workflow.signal(name=DunningSignal.STOP)
    def stop(self) -> None:
        """The subscription ended (canceled now): nothing is owed any more."""
        self._stopped = True
