"""WithdrawalWorkflow with fake activities: refunds in the planned order (oldest deposit first),
one refused refund released rather than failing the withdrawal, and the ledger told exactly what
each refund came to."""

from __future__ import annotations

import uuid

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts.ledger import (
    DepositRefundResult,
    PlannedRefund,
    WithdrawalInput,
    WithdrawalOutcome,
    WithdrawalStatus,
    WithdrawalView,
)
from workflows.withdrawal import WithdrawalWorkflow

pytestmark = pytest.mark.timeskip


class FakeLedger:
    """Refunds that succeed unless their payment is in ``refusing``; the outcome it was told."""

    def __init__(self, refusing: set[str]) -> None:
        self.refusing = refusing
        self.refunded: list[str] = []
        self.outcome: WithdrawalOutcome | None = None

    @activity.defn(name="refund_deposit")
    async def refund_deposit(self, planned: PlannedRefund) -> DepositRefundResult:
        self.refunded.append(planned.payment_id)
        return DepositRefundResult(
            planned.refund_id,
            planned.payment_id,
            planned.amount,
            refunded=planned.payment_id not in self.refusing,
        )

    @activity.defn(name="finish_withdrawal")
    async def finish_withdrawal(self, outcome: WithdrawalOutcome) -> WithdrawalView:
        self.outcome = outcome
        refunded = sum(r.amount for r in outcome.refunds if r.refunded)
        total = sum(r.amount for r in outcome.refunds)
        status = WithdrawalStatus.SUCCEEDED if refunded == total else WithdrawalStatus.FAILED
        return WithdrawalView(outcome.withdrawal_id, status, refunded)


def withdrawal(*refunds: tuple[str, int]) -> WithdrawalInput:
    return WithdrawalInput(
        withdrawal_id=f"wd_{uuid.uuid4().hex[:12]}",
        account_id="acct_1",
        customer_id="cus_1",
        amount=sum(amount for _, amount in refunds),
        currency="USD",
        refunds=[PlannedRefund(payment, f"re_{payment}", amount) for payment, amount in refunds],
    )


async def run(
    env: WorkflowEnvironment, task_queue: str, ledger: FakeLedger, wd: WithdrawalInput
) -> WithdrawalView:
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[WithdrawalWorkflow],
        activities=[ledger.refund_deposit, ledger.finish_withdrawal],
    ):
        return await env.client.execute_workflow(
            WithdrawalWorkflow.run, wd, id=wd.withdrawal_id, task_queue=task_queue
        )


async def test_refunds_run_oldest_deposit_first_and_the_withdrawal_settles(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    ledger = FakeLedger(refusing=set())

    view = await run(env, task_queue, ledger, withdrawal(("pay_old", 2000), ("pay_new", 1000)))

    assert ledger.refunded == ["pay_old", "pay_new"]
    assert (view.status, view.refunded) == (WithdrawalStatus.SUCCEEDED, 3000)


async def test_a_refused_refund_is_released_and_the_others_still_paid_back(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    ledger = FakeLedger(refusing={"pay_old"})

    view = await run(env, task_queue, ledger, withdrawal(("pay_old", 2000), ("pay_new", 1000)))

    assert ledger.refunded == ["pay_old", "pay_new"]
    assert ledger.outcome is not None
    assert [(r.payment_id, r.refunded) for r in ledger.outcome.refunds] == [
        ("pay_old", False),
        ("pay_new", True),
    ]
    assert (view.status, view.refunded) == (WithdrawalStatus.FAILED, 1000)
