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
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.billing import BillingActivities
    from activities.subscription_refunds import SubscriptionRefundActivities
    from contracts.billing import (
        DunningInput,
        DunningOutcome,
        DunningResult,
        InvoiceDraft,
        InvoiceLine,
        InvoicePayer,
        InvoiceRecord,
        InvoiceStatus,
    )
    from contracts.errors import ErrorType
    from contracts.payments import Failure, PaymentSettled, PaymentView
    from contracts.search_attributes import SUBSCRIPTION_STATUS
    from contracts.subscriptions import (
        CancelSubscriptionRequest,
        PaymentMethodChange,
        PeriodCharge,
        PlanChange,
        PlanTerms,
        Proration,
        SubscriptionInput,
        SubscriptionStatus,
        SubscriptionView,
        UnusedTimeRefund,
    )
    from contracts.workflow_names import (
        STATE_QUERY,
        SubscriptionSignal,
        SubscriptionUpdate,
        WorkflowName,
    )
    from workflows import handlers
    from workflows.collect import Collected, collect, record_invoice
    from workflows.database import call_database, call_database_locally
    from workflows.details import at
    from workflows.dunning import DunningWorkflow, dunning_workflow_id
    from workflows.policies import guards
    from workflows.policies.invoicing import invoice_id, period_end, period_lines, upgrade_lines
    from workflows.policies.proration import prorate, seconds_between, unused_time_refunds
    from workflows.policies.retries import (
        DB_TIMEOUT,
        REFUND_RETRY_POLICY,
        REFUND_TIMEOUT,
    )
    from workflows.policies.subscription_status import FINAL, initial_view


@workflow.defn(name=WorkflowName.SUBSCRIPTION)
class SubscriptionWorkflow:
    """One subscription; workflow ID = subscription ID."""

    @workflow.init
    def __init__(self, subscription: SubscriptionInput) -> None:
        self._input = subscription
        self._plan = subscription.plan
        self._view = subscription.carried or initial_view(subscription)
        self._settled: dict[str, PaymentView] = {}
        self._lock = asyncio.Lock()
        self._method_changed = False
        self._begun = subscription.carried is not None
        self._incomplete_until: datetime | None = None
        self._dunning: workflow.ChildWorkflowHandle[DunningWorkflow, DunningResult] | None = None

    @workflow.run
    async def run(self, subscription: SubscriptionInput) -> SubscriptionView:
        if subscription.carried is None:
            async with self._lock:
                await self._begin()
            self._begun = True
        while self._view.status not in FINAL:
            if self._dunning is not None:
                await self._see_dunning_through(self._dunning)
                continue
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
                self._switch_to_scheduled_plan()
                await self._bill(self._view.current_period_end, first=False)
            if self._dunning is None and self._view.status not in FINAL:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(replace(subscription, plan=self._plan, carried=self._view))
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
            await self._record(f"trialing until {at(trial_end)}")
            return
        await self._record("charging the first period")
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
        end = period_end(anchor, self._plan.interval, periods + 1)
        lines, credit_used = period_lines(
            self._plan, view.credit_balance, self._tax_rate, start, end
        )
        self._view = replace(self._view, credit_balance=view.credit_balance - credit_used)
        invoice = await self._open_invoice(start, end, lines)
        self._view = replace(
            self._view,
            periods_billed=view.periods_billed + 1,
            billing_anchor=anchor,
            anchor_periods=periods + 1,
        )
        collected = await self._collect(invoice, attempt=1)
        attempt = 1
        while not collected.paid and first_paid:
            attempt += 1
            collected = await self._await_new_method_while_incomplete(invoice, attempt)
            if self._view.status in FINAL:
                return
        if collected.paid:
            self._enter_period(SubscriptionStatus.ACTIVE, start, end, collected.charges(start, end))
            await self._record(f"active; renews {at(end)}")
            return
        await self._become_past_due(invoice, start, end, collected.failure)

    async def _open_invoice(
        self, start: datetime, end: datetime, lines: list[InvoiceLine]
    ) -> InvoiceRecord:
        subscription = self._input
        number = self._view.invoice_count + 1
        record: InvoiceRecord = await call_database(
            BillingActivities.open_invoice,
            InvoiceDraft(
                invoice_id=invoice_id(subscription.subscription_id, number),
                subscription_id=subscription.subscription_id,
                customer_id=subscription.customer_id,
                account_id=subscription.account_id,
                currency=self._plan.currency,
                lines=lines,
                period_start=start,
                period_end=end,
                created_at=workflow.now(),
            ),
        )
        self._view = replace(self._view, invoice_count=number, latest_invoice_id=record.id)
        return record

    async def _collect(self, invoice: InvoiceRecord, attempt: int) -> Collected:
        return await collect(
            self._payer, invoice, attempt, self._view.payment_method_id, self._settled
        )

    @property
    def _payer(self) -> InvoicePayer:
        subscription = self._input
        return InvoicePayer(
            account_id=subscription.account_id,
            customer_id=subscription.customer_id,
            subscription_id=subscription.subscription_id,
            timeouts=subscription.billing.payment,
        )

    async def _await_new_method_while_incomplete(
        self, invoice: InvoiceRecord, attempt: int
    ) -> Collected:
        """The first payment failed: ``incomplete`` until a new payment method pays the invoice,
        or ``canceled`` when none does within the expiry."""
        if self._incomplete_until is None:
            expiry = timedelta(seconds=self._input.billing.incomplete_expiry_seconds)
            self._incomplete_until = workflow.now() + expiry
            self._view = replace(self._view, status=SubscriptionStatus.INCOMPLETE, entitled=False)
            await self._record(
                f"incomplete until {at(self._incomplete_until)}: first payment failed"
            )
            self._begun = True
        self._method_changed = False
        remaining = self._incomplete_until - workflow.now()
        # The billing that got here holds the lock; a cancel must not wait out the expiry.
        self._lock.release()
        try:
            expired = remaining <= timedelta(0) or not await _condition_met(
                lambda: self._method_changed or self._view.status in FINAL, remaining
            )
        finally:
            await self._lock.acquire()
        if self._view.status in FINAL:
            await self._void(invoice, attempt - 1)
            return Collected(paid=False)
        if expired:
            await self._void(invoice, attempt - 1)
            await self._end(SubscriptionStatus.CANCELED, "incomplete expired")
            return Collected(paid=False)
        return await self._collect(invoice, attempt)

    async def _become_past_due(
        self, invoice: InvoiceRecord, start: datetime, end: datetime, failure: Failure | None
    ) -> None:
        """A renewal failed. The period still advances (the customer owes it), the invoice stays
        open and its dunning starts; the customer stays entitled through the grace period."""
        now = workflow.now()
        since = self._view.past_due_since or now
        self._enter_period(SubscriptionStatus.PAST_DUE, start, end, [], past_due_since=since)
        await self._record(f"past due since {at(since)}: {invoice.id} unpaid")
        self._dunning = await workflow.start_child_workflow(
            DunningWorkflow.run,
            DunningInput(
                invoice=invoice,
                payer=self._payer,
                plan_name=self._plan.name,
                billing=self._input.billing,
                payment_method_id=self._view.payment_method_id,
                first_failure=failure,
                failed_at=now,
            ),
            id=dunning_workflow_id(invoice.id),
            task_queue=workflow.info().task_queue,
            static_summary=f"Dunning {invoice.id} for {self._input.customer_id}",
        )

    async def _see_dunning_through(
        self, dunning: workflow.ChildWorkflowHandle[DunningWorkflow, DunningResult]
    ) -> None:
        """Wait for the dunning outcome; the grace period ends entitlement on the way."""
        since = self._view.past_due_since or workflow.now()
        grace_left = since + timedelta(seconds=self._input.billing.grace_seconds) - workflow.now()
        try:
            if grace_left <= timedelta(0):
                raise TimeoutError
            await workflow.wait_condition(dunning.done, timeout=grace_left)
        except TimeoutError:
            async with self._lock:
                if self._view.status is SubscriptionStatus.PAST_DUE and self._view.entitled:
                    self._view = replace(self._view, entitled=False)
                    await self._record("grace period over: not entitled until paid")
            await workflow.wait_condition(dunning.done)
        result = await dunning
        self._dunning = None
        async with self._lock:
            if self._view.status in FINAL:
                return
            if result.outcome is DunningOutcome.RECOVERED:
                start, end = self._view.current_period_start, self._view.current_period_end
                recovered = Collected(True, result.payment_id, result.amount_paid)
                self._enter_period(
                    SubscriptionStatus.ACTIVE, start, end, recovered.charges(start, end)
                )
                await self._record(f"recovered by {result.payment_id}")
            else:
                await self._end(self._input.billing.final_status, "dunning exhausted")

    def _enter_period(
        self,
        status: SubscriptionStatus,
        start: datetime,
        end: datetime,
        charges: list[PeriodCharge],
        past_due_since: datetime | None = None,
    ) -> None:
        """The period from ``start`` to ``end`` is the current one, entitled: paid (``active``,
        by ``charges``) or owed (``past_due``, since ``past_due_since``)."""
        self._view = replace(
            self._view,
            status=status,
            entitled=True,
            current_period_start=start,
            current_period_end=end,
            past_due_since=past_due_since,
            period_charges=charges,
        )

    async def _end(self, status: SubscriptionStatus, reason: str) -> None:
        self._view = replace(self._view, status=status, entitled=False, canceled_at=workflow.now())
        await self._record(reason)

    # ------------------------------------------------------------------ plan changes

    def _switch_to_scheduled_plan(self) -> None:
        """A plan change with ``proration: none`` takes effect as the new period begins; a new
        interval restarts the calendar there."""
        scheduled = self._view.scheduled_plan
        if scheduled is None:
            return
        if scheduled.interval is not self._plan.interval:
            self._view = replace(self._view, billing_anchor=None)
        self._plan = scheduled
        self._view = replace(self._view, plan_id=scheduled.id, scheduled_plan=None)

    async def _prorate_now(self, plan: PlanTerms) -> None:
        """Switch mid-period: charge the difference now (an upgrade), or credit it to the next
        invoices (a downgrade). A declined upgrade leaves the plan as it was."""
        view = self._view
        now = workflow.now()
        proration = prorate(
            self._plan.amount,
            plan.amount,
            seconds_between(view.current_period_start, view.current_period_end),
            seconds_between(view.current_period_start, now),
        )
        if proration.net > 0:
            end = view.current_period_end
            lines = upgrade_lines(self._plan, plan, proration, self._tax_rate, now, end)
            invoice = await self._open_invoice(now, end, lines)
            collected = await self._collect(invoice, attempt=1)
            if not collected.paid:
                await self._void(invoice, 1)
                failure = collected.failure
                reason = failure.message if failure else "no usable payment method"
                raise ApplicationError(
                    f"The prorated charge for {plan.name} failed ({reason}); "
                    "the plan is unchanged.",
                    type=ErrorType.PLAN_CHANGE_DECLINED,
                )
            self._view = replace(
                self._view,
                period_charges=self._view.period_charges + collected.charges(now, end),
            )
        else:
            self._view = replace(self._view, credit_balance=view.credit_balance - proration.net)
        self._plan = plan
        self._view = replace(self._view, plan_id=plan.id, scheduled_plan=None)
        await self._record(f"plan {plan.id}; prorated {proration.net:+d} {plan.currency}")

    # ------------------------------------------------------------------ updates

    @handlers.update(SubscriptionUpdate.BEGUN)
    async def begun(self) -> SubscriptionView:
        """Returns once the subscription has begun: its trial started, its first invoice paid, or
        ``incomplete`` because the first payment failed. The API waits on it after starting."""
        await workflow.wait_condition(lambda: self._begun)
        return self._view

    @handlers.update(SubscriptionUpdate.CHANGE_PLAN)
    async def change_plan(self, change: PlanChange) -> SubscriptionView:
        """Prorated now within an interval; otherwise (``none``, or monthly ↔ yearly) from the
        next period. A trial has nothing to prorate: the trial simply goes on with the new plan."""
        async with self._lock:
            self._validate_change_plan(change)
            plan = change.plan
            if plan.id == self._plan.id:
                self._view = replace(self._view, scheduled_plan=None)
                await self._record(f"stays on {plan.id}")
            elif self._view.status is SubscriptionStatus.TRIALING:
                self._plan = plan
                self._view = replace(self._view, plan_id=plan.id, scheduled_plan=None)
                await self._record(f"trialing on {plan.id}")
            elif change.proration is Proration.NONE or plan.interval is not self._plan.interval:
                self._view = replace(self._view, scheduled_plan=plan)
                await self._record(f"switches to {plan.id} at {at(self._view.current_period_end)}")
            else:
                await self._prorate_now(plan)
            return self._view

    @change_plan.validator
    def _validate_change_plan(self, change: PlanChange) -> None:
        guards.require_plan_change(self._view, self._plan, change.plan)

    @handlers.update(SubscriptionUpdate.CANCEL)
    async def cancel(self, request: CancelSubscriptionRequest) -> SubscriptionView:
        """Cancel now, or at the end of the paid period; waits for a renewal in progress. An
        invoice in dunning is abandoned when the subscription ends now."""
        async with self._lock:
            guards.require_open(self._view)
            if request.at_period_end:
                self._view = replace(self._view, cancel_at_period_end=True)
                await self._record(f"cancels at {at(self._view.current_period_end)}")
            else:
                refunds = self._unused_time() if request.prorate_refund else []
                await self._end(SubscriptionStatus.CANCELED, "canceled")
                if self._dunning is not None:
                    await self._dunning.signal(DunningWorkflow.stop)
                for refund in refunds:
                    await self._refund(refund)
            return self._view

    def _unused_time(self) -> list[UnusedTimeRefund]:
        """Refunds of the current period's unused time; a paused subscription used none since
        the pause."""
        used_until = self._view.paused_at or workflow.now()
        return unused_time_refunds(self._view.id, self._view.period_charges, used_until)

    async def _refund(self, refund: UnusedTimeRefund) -> None:
        """A refund the payment cannot give (closed, already refunded) does not undo the cancel:
        it is logged and shown in the workflow's details for an operator."""
        try:
            await workflow.execute_activity_method(
                SubscriptionRefundActivities.refund_unused_time,
                refund,
                start_to_close_timeout=REFUND_TIMEOUT,
                retry_policy=REFUND_RETRY_POLICY,
            )
        except ActivityError as error:
            workflow.logger.warning("refund %s not given: %s", refund.refund_id, error.cause)
            workflow.set_current_details(f"canceled; refund {refund.refund_id} not given")

    @cancel.validator
    def _validate_cancel(self, request: CancelSubscriptionRequest) -> None:
        guards.require_open(self._view)

    @handlers.update(SubscriptionUpdate.PAUSE)
    async def pause(self) -> SubscriptionView:
        """No invoices while paused; the period restarts on resume."""
        async with self._lock:
            guards.require_subscription_status(self._view, SubscriptionStatus.ACTIVE)
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
        guards.require_subscription_status(self._view, SubscriptionStatus.ACTIVE)

    @handlers.update(SubscriptionUpdate.RESUME)
    async def resume(self) -> SubscriptionView:
        """A new period starts now and is billed now."""
        async with self._lock:
            guards.require_subscription_status(self._view, SubscriptionStatus.PAUSED)
            self._view = replace(self._view, paused_at=None, billing_anchor=None)
            self._switch_to_scheduled_plan()
            await self._bill(workflow.now(), first=False)
            return self._view

    @resume.validator
    def _validate_resume(self) -> None:
        guards.require_subscription_status(self._view, SubscriptionStatus.PAUSED)

    @handlers.update(SubscriptionUpdate.SET_PAYMENT_METHOD)
    async def set_payment_method(self, change: PaymentMethodChange) -> SubscriptionView:
        """Charge future invoices to this method. An unpaid invoice (a failed first payment, or
        one in dunning) is retried with it at once."""
        guards.require_open(self._view)
        self._view = replace(self._view, payment_method_id=change.payment_method_id)
        self._method_changed = True
        await self._record(f"payment method {change.payment_method_id}")
        if self._dunning is not None and not self._dunning.done():
            await self._dunning.signal(DunningWorkflow.retry_with, change)
        return self._view

    @set_payment_method.validator
    def _validate_set_payment_method(self, change: PaymentMethodChange) -> None:
        guards.require_open(self._view)

    # ------------------------------------------------------------------ signals and queries

    @workflow.signal(name=SubscriptionSignal.PAYMENT_SETTLED)
    def payment_settled(self, settled: PaymentSettled) -> None:
        self._settled[settled.payment.id] = settled.payment

    @workflow.query(name=STATE_QUERY)
    def state(self) -> SubscriptionView:
        return self._view

    # ------------------------------------------------------------------ plumbing

    def _interrupted(self) -> bool:
        """An update (cancel now, pause) took over while the renewal waited for the lock."""
        return self._view.status in FINAL or self._view.status is SubscriptionStatus.PAUSED

    @property
    def _tax_rate(self) -> int:
        return self._input.billing.tax_rate_basis_points

    async def _void(self, invoice: InvoiceRecord, attempts: int) -> None:
        await record_invoice(invoice.id, InvoiceStatus.VOID, attempts=attempts, payment_id=None)

    async def _record(self, details: str) -> None:
        """Persist the new state, then make it visible to search."""
        self._view = replace(self._view, version=self._view.version + 1, updated_at=workflow.now())
        await call_database_locally(
            BillingActivities.record_subscription,
            self._view,
            DB_TIMEOUT,
        )
        workflow.upsert_search_attributes([SUBSCRIPTION_STATUS.value_set(self._view.status.value)])
        workflow.set_current_details(details)


async def _condition_met(condition: Callable[[], bool], timeout: timedelta) -> bool:
    try:
        await workflow.wait_condition(condition, timeout=timeout)
    except TimeoutError:
        return False
    return True
