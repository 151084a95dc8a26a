"""SubscriptionWorkflow: one subscription, one billing cycle per run.

Each renewal opens the period's invoice (idempotent by subscription and period), charges it
through a child PaymentWorkflow whose ID is the invoice's — so a replayed or retried cycle finds
the same payment instead of billing the period twice — and then continues as new, carrying the
state over, so the history of a subscription stays small however many years it runs. Plan
changes, pauses and cancels are updates that take the same lock as a renewal, so they never race
one.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.billing import BillingActivities
    from money import format_amount
    from workflows.payment import PaymentWorkflow
    from workflows.policies import RECORD_RETRY_POLICY, period_end, tax_amount
    from workflows.types import (
        AMOUNT_MINOR,
        CURRENCY,
        CUSTOMER_ID,
        PAYMENT_STATUS,
        PROVIDER,
        SUBSCRIPTION_STATUS,
        CancelSubscriptionRequest,
        CaptureMethod,
        ChargeTarget,
        ChargeTargetRequest,
        ErrorType,
        InvoiceDraft,
        InvoiceLine,
        InvoiceRecord,
        InvoiceStatus,
        InvoiceUpdate,
        PaymentInput,
        PaymentMethodChange,
        PaymentSettled,
        PaymentStatus,
        PaymentView,
        SubscriptionInput,
        SubscriptionStatus,
        SubscriptionView,
    )

FINAL = frozenset({SubscriptionStatus.CANCELED, SubscriptionStatus.UNPAID})
DB_TIMEOUT = timedelta(seconds=30)


@workflow.defn
class SubscriptionWorkflow:
    """One subscription; workflow ID = subscription ID."""

    @workflow.init
    def __init__(self, subscription: SubscriptionInput) -> None:
        self._input = subscription
        created = subscription.created_at
        self._view = subscription.carried or SubscriptionView(
            id=subscription.subscription_id,
            account_id=subscription.account_id,
            customer_id=subscription.customer_id,
            plan_id=subscription.plan.id,
            payment_method_id=subscription.payment_method_id,
            status=SubscriptionStatus.INCOMPLETE,
            current_period_start=created,
            current_period_end=created,
            trial_end=None,
            cancel_at_period_end=False,
            entitled=False,
            latest_invoice_id=None,
            past_due_since=None,
            paused_at=None,
            canceled_at=None,
            created_at=created,
            updated_at=created,
            version=0,
        )
        self._settled: dict[str, PaymentView] = {}
        self._lock = asyncio.Lock()
        self._method_changed = False

    @workflow.run
    async def run(self, subscription: SubscriptionInput) -> SubscriptionView:
        if subscription.carried is None:
            async with self._lock:
                await self._begin()
        while self._view.status not in FINAL:
            if self._view.status is SubscriptionStatus.PAUSED:
                await workflow.wait_condition(
                    lambda: self._view.status is not SubscriptionStatus.PAUSED
                )
                continue
            if not await self._sleep_until_period_end():
                continue
            async with self._lock:
                if self._interrupted():
                    continue
                if self._view.cancel_at_period_end:
                    await self._end(SubscriptionStatus.CANCELED, "canceled at period end")
                    break
                await self._bill(self._view.current_period_end, first=False)
            if self._view.status not in FINAL:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(replace(subscription, carried=self._view))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view

    async def _begin(self) -> None:
        """A trial first, if there is one; otherwise the first period is billed right away."""
        subscription = self._input
        if subscription.trial_days > 0:
            trial_end = subscription.created_at + timedelta(days=subscription.trial_days)
            self._view = replace(
                self._view,
                status=SubscriptionStatus.TRIALING,
                entitled=True,
                current_period_start=subscription.created_at,
                current_period_end=trial_end,
                trial_end=trial_end,
            )
            await self._record(f"trialing until {trial_end}")
            return
        await self._bill(subscription.created_at, first=True)

    async def _sleep_until_period_end(self) -> bool:
        """True when the period ended; False when an update (cancel now, pause) came first."""
        status = self._view.status
        remaining = self._view.current_period_end - workflow.now()
        if remaining <= timedelta(0):
            return True
        try:
            await workflow.wait_condition(
                lambda: self._view.status is not status, timeout=remaining
            )
        except TimeoutError:
            return True
        return False

    # ------------------------------------------------------------------ billing

    async def _bill(self, start: datetime, *, first: bool) -> None:
        """Invoice and charge the period starting at ``start``; the outcome moves the status."""
        view = self._view
        first_paid = first or view.status is SubscriptionStatus.TRIALING
        if view.billing_anchor is None or first_paid:
            anchor, periods = start, 0
        else:
            anchor, periods = view.billing_anchor, view.anchor_periods
        end = period_end(anchor, self._input.plan.interval, periods + 1)
        invoice = await self._open_invoice(start, end)
        self._view = replace(
            self._view,
            latest_invoice_id=invoice.id,
            periods_billed=view.periods_billed + 1,
            billing_anchor=anchor,
            anchor_periods=periods + 1,
        )
        paid = await self._collect(invoice, attempt=1)
        while not paid and first_paid:
            paid = await self._await_new_method_while_incomplete(invoice)
            if self._view.status in FINAL:
                return
        if paid:
            self._view = replace(
                self._view,
                status=SubscriptionStatus.ACTIVE,
                entitled=True,
                current_period_start=start,
                current_period_end=end,
                past_due_since=None,
            )
            await self._record(f"active; renews {end}")
            return
        await self._become_past_due(invoice, start, end)

    async def _open_invoice(self, start: datetime, end: datetime) -> InvoiceRecord:
        subscription = self._input
        plan = subscription.plan
        lines = [InvoiceLine(f"{plan.name} ({plan.interval}ly)", plan.amount, start, end)]
        tax = tax_amount(plan.amount, subscription.billing.tax_rate_basis_points)
        if tax:
            rate = subscription.billing.tax_rate_basis_points
            lines.append(InvoiceLine(f"Tax {rate // 100}.{rate % 100:02d}%", tax, start, end))
        number = self._view.periods_billed + 1
        record: InvoiceRecord = await workflow.execute_activity_method(
            BillingActivities.open_invoice,
            InvoiceDraft(
                invoice_id=f"in_{subscription.subscription_id.removeprefix('sub_')}_{number:04d}",
                subscription_id=subscription.subscription_id,
                customer_id=subscription.customer_id,
                account_id=subscription.account_id,
                currency=plan.currency,
                lines=lines,
                period_start=start,
                period_end=end,
                created_at=workflow.now(),
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=RECORD_RETRY_POLICY,
        )
        return record

    async def _collect(self, invoice: InvoiceRecord, attempt: int) -> bool:
        """Charge the invoice once through its own PaymentWorkflow; True when paid."""
        if invoice.amount_due == 0:
            await self._update_invoice(invoice, InvoiceStatus.PAID, attempt, None)
            return True
        target: ChargeTarget | None = await workflow.execute_activity_method(
            BillingActivities.charge_target,
            ChargeTargetRequest(self._input.customer_id, self._view.payment_method_id),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=RECORD_RETRY_POLICY,
        )
        if target is None:
            await self._update_invoice(invoice, InvoiceStatus.OPEN, attempt, None)
            return False
        payment_id = invoice.id if attempt == 1 else f"{invoice.id}_attempt{attempt}"
        self._set_details(f"charging {invoice.id} (attempt {attempt}) as {payment_id}")
        await workflow.start_child_workflow(
            PaymentWorkflow.run,
            self._payment_input(invoice, target, payment_id),
            id=payment_id,
            task_queue=workflow.info().task_queue,
            parent_close_policy=ParentClosePolicy.ABANDON,
            static_summary=(
                f"Invoice {invoice.id}: {format_amount(invoice.amount_due, invoice.currency)} "
                f"{invoice.currency} for {self._input.customer_id}"
            ),
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(CUSTOMER_ID, self._input.customer_id),
                    SearchAttributePair(PAYMENT_STATUS, PaymentStatus.PROCESSING.value),
                    SearchAttributePair(PROVIDER, target.provider.value),
                    SearchAttributePair(AMOUNT_MINOR, invoice.amount_due),
                    SearchAttributePair(CURRENCY, invoice.currency),
                ]
            ),
        )
        await workflow.wait_condition(lambda: payment_id in self._settled)
        payment = self._settled[payment_id]
        paid = payment.status is PaymentStatus.SUCCEEDED
        await self._update_invoice(
            invoice,
            InvoiceStatus.PAID if paid else InvoiceStatus.OPEN,
            attempt,
            payment_id,
            amount_paid=payment.amount_captured if paid else 0,
        )
        return paid

    def _payment_input(
        self, invoice: InvoiceRecord, target: ChargeTarget, payment_id: str
    ) -> PaymentInput:
        subscription = self._input
        return PaymentInput(
            payment_id=payment_id,
            account_id=subscription.account_id,
            request_hash=f"invoice:{invoice.id}",
            amount=invoice.amount_due,
            currency=invoice.currency,
            customer_id=subscription.customer_id,
            provider=target.provider,
            capture_method=CaptureMethod.AUTOMATIC,
            timeouts=subscription.billing.payment,
            created_at=workflow.now(),
            payment_method_id=target.payment_method_id,
            provider_customer_ref=target.provider_customer_ref,
            payment_method_ref=target.payment_method_ref,
            metadata={"invoice_id": invoice.id, "subscription_id": subscription.subscription_id},
            notify_workflow_id=workflow.info().workflow_id,
        )

    async def _update_invoice(
        self,
        invoice: InvoiceRecord,
        status: InvoiceStatus,
        attempt: int,
        payment_id: str | None,
        amount_paid: int = 0,
    ) -> None:
        await workflow.execute_activity_method(
            BillingActivities.update_invoice,
            InvoiceUpdate(
                invoice_id=invoice.id,
                status=status,
                amount_paid=amount_paid,
                attempt_count=attempt,
                next_payment_attempt=None,
                payment_id=payment_id,
                updated_at=workflow.now(),
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=RECORD_RETRY_POLICY,
        )

    async def _await_new_method_while_incomplete(self, invoice: InvoiceRecord) -> bool:
        """The first payment failed: ``incomplete`` until a new payment method pays the invoice,
        or ``canceled`` when none does within the expiry."""
        expiry = timedelta(seconds=self._input.billing.incomplete_expiry_seconds)
        self._view = replace(self._view, status=SubscriptionStatus.INCOMPLETE, entitled=False)
        await self._record(f"incomplete until {workflow.now() + expiry}: first payment failed")
        self._method_changed = False
        try:
            await workflow.wait_condition(
                lambda: self._method_changed or self._view.status in FINAL, timeout=expiry
            )
        except TimeoutError:
            await self._update_invoice(invoice, InvoiceStatus.VOID, 1, None)
            await self._end(SubscriptionStatus.CANCELED, "incomplete expired")
            return False
        if self._view.status in FINAL:
            return False
        return await self._collect(invoice, attempt=2)

    async def _become_past_due(
        self, invoice: InvoiceRecord, start: datetime, end: datetime
    ) -> None:
        """A renewal failed. The period still advances (the customer owes it), the invoice stays
        open, and the customer stays entitled through the grace period; a new payment method
        retries the invoice at once."""
        now = workflow.now()
        self._view = replace(
            self._view,
            status=SubscriptionStatus.PAST_DUE,
            entitled=True,
            current_period_start=start,
            current_period_end=end,
            past_due_since=self._view.past_due_since or now,
        )
        await self._record(f"past due since {self._view.past_due_since}: {invoice.id} unpaid")

    async def _end(self, status: SubscriptionStatus, reason: str) -> None:
        self._view = replace(self._view, status=status, entitled=False, canceled_at=workflow.now())
        await self._record(reason)

    # ------------------------------------------------------------------ updates

    @workflow.update
    async def cancel(self, request: CancelSubscriptionRequest) -> SubscriptionView:
        """Cancel now, or at the end of the paid period; waits for a renewal in progress."""
        async with self._lock:
            self._require_open()
            if request.at_period_end:
                self._view = replace(self._view, cancel_at_period_end=True)
                await self._record(f"cancels at {self._view.current_period_end}")
            else:
                await self._end(SubscriptionStatus.CANCELED, "canceled")
            return self._view

    @cancel.validator
    def _validate_cancel(self, request: CancelSubscriptionRequest) -> None:
        self._require_open()

    @workflow.update
    async def pause(self) -> SubscriptionView:
        """No invoices while paused; the period restarts on resume."""
        async with self._lock:
            self._require_status(SubscriptionStatus.ACTIVE)
            self._view = replace(
                self._view,
                status=SubscriptionStatus.PAUSED,
                entitled=False,
                paused_at=workflow.now(),
            )
            await self._record("paused")
            return self._view

    @pause.validator
    def _validate_pause(self) -> None:
        self._require_status(SubscriptionStatus.ACTIVE)

    @workflow.update
    async def resume(self) -> SubscriptionView:
        """A new period starts now and is billed now."""
        async with self._lock:
            self._require_status(SubscriptionStatus.PAUSED)
            self._view = replace(self._view, paused_at=None, billing_anchor=None)
            await self._bill(workflow.now(), first=False)
            return self._view

    @resume.validator
    def _validate_resume(self) -> None:
        self._require_status(SubscriptionStatus.PAUSED)

    @workflow.update
    async def set_payment_method(self, change: PaymentMethodChange) -> SubscriptionView:
        """Charge future invoices to this method; an unpaid first invoice is retried at once."""
        self._require_open()
        self._view = replace(self._view, payment_method_id=change.payment_method_id)
        self._method_changed = True
        await self._record(f"payment method {change.payment_method_id}")
        return self._view

    @set_payment_method.validator
    def _validate_set_payment_method(self, change: PaymentMethodChange) -> None:
        self._require_open()

    # ------------------------------------------------------------------ signals and queries

    @workflow.signal
    def payment_settled(self, settled: PaymentSettled) -> None:
        self._settled[settled.payment.id] = settled.payment

    @workflow.query
    def state(self) -> SubscriptionView:
        return self._view

    # ------------------------------------------------------------------ plumbing

    def _interrupted(self) -> bool:
        """An update (cancel now, pause) took over while the renewal waited for the lock."""
        return self._view.status in FINAL or self._view.status is SubscriptionStatus.PAUSED

    def _require_open(self) -> None:
        if self._view.status in FINAL:
            raise ApplicationError(
                f"The subscription is {self._view.status}.", type=ErrorType.INVALID_STATE
            )

    def _require_status(self, status: SubscriptionStatus) -> None:
        if self._view.status is not status:
            raise ApplicationError(
                f"The subscription is {self._view.status}, not {status}.",
                type=ErrorType.INVALID_STATE,
            )

    def _set_details(self, details: str) -> None:
        workflow.set_current_details(details)

    async def _record(self, details: str) -> None:
        """Persist the new state, then make it visible to search."""
        self._view = replace(self._view, version=self._view.version + 1, updated_at=workflow.now())
        await workflow.execute_local_activity_method(
            BillingActivities.record_subscription,
            self._view,
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=RECORD_RETRY_POLICY,
        )
        workflow.upsert_search_attributes([SUBSCRIPTION_STATUS.value_set(self._view.status.value)])
        self._set_details(details)
