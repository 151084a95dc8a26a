"""WithdrawalWorkflow: pays a locked withdrawal back through refunds of the deposits that funded
the wallet, then settles or releases it.

The API has already locked the amount and planned the refunds (oldest deposit first) in the same
database transaction, so this workflow only carries them out: each refund is an update of that
deposit payment's own workflow (``refund_deposit``), one after another, and then one ledger
activity settles what was refunded and releases the rest. Every step is keyed by the withdrawal
(refund ids, ledger transaction ids), never by the attempt: a worker killed anywhere in between
ends with exactly the right refunds and balances once another worker replays it.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.ledger import LedgerActivities
    from activities.wallet_refunds import WalletRefundActivities
    from contracts.ledger import (
        DepositRefundResult,
        WithdrawalInput,
        WithdrawalOutcome,
        WithdrawalStatus,
        WithdrawalView,
    )
    from contracts.workflow_names import STATE_QUERY, WorkflowName
    from money import format_amount
    from workflows.database import call_database
    from workflows.policies.retries import REFUND_RETRY_POLICY, REFUND_TIMEOUT

REFUND_HEARTBEAT_TIMEOUT = timedelta(seconds=10)
"""A refund whose worker stopped heartbeating (killed) is retried by another after this, rather
than after the refund's whole start-to-close timeout; the retry joins the same update."""


@workflow.defn(name=WorkflowName.WITHDRAWAL)
class WithdrawalWorkflow:
    """One withdrawal; workflow ID = its ``wd_…`` id."""

    @workflow.init
    def __init__(self, withdrawal: WithdrawalInput) -> None:
        self._view = WithdrawalView(withdrawal.withdrawal_id, WithdrawalStatus.PENDING, 0)

    @workflow.run
    async def run(self, withdrawal: WithdrawalInput) -> WithdrawalView:
        results: list[DepositRefundResult] = []
        for planned in withdrawal.refunds:
            workflow.set_current_details(
                f"refunding {format_amount(planned.amount, withdrawal.currency)} "
                f"{withdrawal.currency} of {planned.payment_id}"
            )
            result: DepositRefundResult = await workflow.execute_activity_method(
                WalletRefundActivities.refund_deposit,
                planned,
                start_to_close_timeout=REFUND_TIMEOUT,
                heartbeat_timeout=REFUND_HEARTBEAT_TIMEOUT,
                retry_policy=REFUND_RETRY_POLICY,
            )
            results.append(result)
        self._view = await call_database(
            LedgerActivities.finish_withdrawal,
            WithdrawalOutcome(withdrawal.withdrawal_id, results, workflow.now()),
        )
        workflow.set_current_details(
            f"{self._view.status.value}: {format_amount(self._view.refunded, withdrawal.currency)} "
            f"{withdrawal.currency} refunded"
        )
        return self._view

    @workflow.query(name=STATE_QUERY)
    def state(self) -> WithdrawalView:
        return self._view
