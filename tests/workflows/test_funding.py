"""FundingWorkflow with fake activities: the purchase's or deposit's payment runs as its child
PaymentWorkflow, and the ledger is told once how it settled: a grant only when it succeeded."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts.ledger import (
    CREDITS,
    FundingInput,
    FundingKind,
    FundingSettlement,
    FundingStatus,
    FundingView,
)
from contracts.payments import PaymentStatus
from tests.workflows.fakes import CARD_OK, FakeProvider, FakeRecords, declining
from tests.workflows.test_payment import card_payment
from workflows.funding import FundingWorkflow
from workflows.payment import PaymentWorkflow

pytestmark = pytest.mark.timeskip


class FakeLedger:
    def __init__(self) -> None:
        self.settlements: list[FundingSettlement] = []

    @activity.defn(name="settle_funding")
    async def settle_funding(self, settlement: FundingSettlement) -> FundingStatus:
        self.settlements.append(settlement)
        return FundingStatus.SUCCEEDED if settlement.succeeded else FundingStatus.FAILED


async def fund(
    env: WorkflowEnvironment, task_queue: str, card: str, ledger: FakeLedger
) -> FundingView:
    funding_id = f"ctx_{uuid.uuid4().hex[:16]}"
    payment = replace(card_payment(card), payment_id=f"pay_{funding_id}")
    provider, records = FakeProvider(), FakeRecords()
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[FundingWorkflow, PaymentWorkflow],
        activities=[*provider.activities(), *records.activities(), ledger.settle_funding],
    ):
        return await env.client.execute_workflow(
            FundingWorkflow.run,
            FundingInput(
                funding_id=funding_id,
                kind=FundingKind.CREDITS,
                account_id=payment.account_id,
                customer_id=payment.customer_id,
                amount=2500,
                currency=CREDITS,
                payment=payment,
            ),
            id=funding_id,
            task_queue=task_queue,
        )


async def test_a_succeeded_payment_is_granted_once(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    ledger = FakeLedger()

    view = await fund(env, task_queue, CARD_OK, ledger)

    assert view.status is FundingStatus.SUCCEEDED
    assert view.payment is not None and view.payment.status is PaymentStatus.SUCCEEDED
    assert [(s.funding_id, s.succeeded) for s in ledger.settlements] == [(view.funding_id, True)]


async def test_a_declined_payment_grants_nothing(env: WorkflowEnvironment, task_queue: str) -> None:
    ledger = FakeLedger()

    view = await fund(env, task_queue, declining("insufficient_funds"), ledger)

    assert view.status is FundingStatus.FAILED
    assert [s.succeeded for s in ledger.settlements] == [False]
