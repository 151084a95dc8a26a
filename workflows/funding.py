"""FundingWorkflow: a credits purchase (``ctx_…``) or a wallet deposit (``dep_…``).

It starts the payment as a child PaymentWorkflow (ID = the payment's, derived from the funding),
which outlives it (ABANDON: the payment stays open for refunds — a withdrawal refunds deposits
through it) and reports how it settled with the ``payment_settled`` signal. Once the payment has
succeeded, failed or been canceled, one ledger activity grants what it bought (idempotent by the
funding's id) or marks the funding failed. So the credits or the money arrive exactly once.
"""

from __future__ import annotations

from dataclasses import replace

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.ledger import LedgerActivities
    from contracts.ledger import (
        FundingInput,
        FundingSettlement,
        FundingSettleRequest,
        FundingStatus,
        FundingView,
    )
    from contracts.payments import PaymentSettled, PaymentStatus, PaymentView
    from contracts.search_attributes import AMOUNT_MINOR, CURRENCY, CUSTOMER_ID, PAYMENT_STATUS
    from contracts.workflow_names import STATE_QUERY, FundingSignal, FundingUpdate, WorkflowName
    from money import format_amount
    from workflows import handlers
    from workflows.database import call_database
    from workflows.payment import PaymentWorkflow

FINAL = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.CANCELED})
"""A payment in one of these has said whether money came in; ``requires_action`` has not."""


@workflow.defn(name=WorkflowName.FUNDING)
class FundingWorkflow:
    """One purchase or deposit; workflow ID = its ``ctx_…``/``dep_…`` id."""

    @workflow.init
    def __init__(self, funding: FundingInput) -> None:
        self._input = funding
        self._payment: PaymentView | None = None
        self._status = FundingStatus.PENDING

    @workflow.run
    async def run(self, funding: FundingInput) -> FundingView:
        payment = replace(funding.payment, notify_workflow_id=workflow.info().workflow_id)
        workflow.set_current_details(f"charging {payment.payment_id}")
        await workflow.start_child_workflow(
            PaymentWorkflow.run,
            payment,
            id=payment.payment_id,
            task_queue=workflow.info().task_queue,
            parent_close_policy=ParentClosePolicy.ABANDON,
            static_summary=(
                f"{funding.kind.value.capitalize()} {funding.funding_id}: "
                f"{format_amount(payment.amount, payment.currency)} {payment.currency} "
                f"for {payment.customer_id}"
            ),
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(CUSTOMER_ID, payment.customer_id),
                    SearchAttributePair(PAYMENT_STATUS, PaymentStatus.PROCESSING.value),
                    SearchAttributePair(AMOUNT_MINOR, payment.amount),
                    SearchAttributePair(CURRENCY, payment.currency),
                ]
            ),
        )
        await workflow.wait_condition(
            lambda: self._payment is not None and self._payment.status in FINAL
        )
        assert self._payment is not None
        succeeded = self._payment.status is PaymentStatus.SUCCEEDED
        workflow.set_current_details(
            f"{payment.payment_id} {self._payment.status.value}; "
            + ("granting" if succeeded else "closing")
        )
        self._status = await call_database(
            LedgerActivities.settle_funding,
            FundingSettlement(funding.funding_id, succeeded, workflow.now()),
        )
        workflow.set_current_details(f"{self._status.value}")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view()

    @workflow.signal(name=FundingSignal.PAYMENT_SETTLED)
    def payment_settled(self, settled: PaymentSettled) -> None:
        self._payment = settled.payment

    @handlers.update(FundingUpdate.SETTLE)
    async def settle(self, request: FundingSettleRequest) -> FundingView:
        """Answer the create request once the funding is granted or has failed."""
        await workflow.wait_condition(lambda: self._status is not FundingStatus.PENDING)
        return self._view()

    @workflow.query(name=STATE_QUERY)
    def state(self) -> FundingView:
        return self._view()

    def _view(self) -> FundingView:
        return FundingView(
            funding_id=self._input.funding_id, status=self._status, payment=self._payment
        )
