"""What an operator reads as a workflow's current details in the Temporal Web UI (the
``__temporal_workflow_metadata`` query the UI sends): moments in ISO 8601, the refund deadline
still shown after a refund, and what a completed payment ended as."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from contracts.payments import RefundRequest, RefundView
from contracts.providers import CaptureMethod
from contracts.workflow_names import PaymentUpdate
from tests.workflows.fakes import (
    CARD_OK,
    FakeBilling,
    FakeProvider,
    FakeRecords,
    declining,
    fake_worker,
)
from tests.workflows.test_payment import TIMEOUTS, card_payment, settled, start
from tests.workflows.test_subscription import subscribe

pytestmark = pytest.mark.timeskip

ISO_8601 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


async def current_details(handle: WorkflowHandle[Any, Any]) -> str:
    """The details line the Temporal Web UI shows for the workflow."""
    metadata: WorkflowMetadata = await handle.query(
        "__temporal_workflow_metadata", result_type=WorkflowMetadata
    )
    return metadata.current_details


def moment(details: str) -> datetime:
    found = re.search(ISO_8601, details)
    assert found, details
    return datetime.strptime(found.group(), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


async def test_a_refund_leaves_the_refund_deadline_in_the_details(
    env: WorkflowEnvironment, task_queue: str, provider: FakeProvider, records: FakeRecords
) -> None:
    payment = card_payment(CARD_OK)
    async with fake_worker(env, task_queue, provider, records):
        handle = await start(env, task_queue, payment)
        await settled(handle, payment)
        before = await current_details(handle)
        await handle.execute_update(
            PaymentUpdate.REFUND,
            RefundRequest(refund_id=f"re_{uuid.uuid4().hex[:8]}", request_hash="h", amount=1000),
            result_type=RefundView,
        )
        after = await current_details(handle)
        await handle.result()
        completed = await current_details(handle)

    assert re.fullmatch(f"open for refunds until {ISO_8601}", before), before
    deadline = moment(before) - payment.created_at
    assert abs(deadline - TIMEOUTS.refund_window) < timedelta(minutes=1)
    assert after == before
    assert completed == (
        "completed: the payment succeeded (25.00 EUR, 10.00 EUR refunded); "
        "its refund window is over"
    )


async def test_a_completed_failed_payment_says_it_failed_and_why(
    env: WorkflowEnvironment, task_queue: str, provider: FakeProvider, records: FakeRecords
) -> None:
    payment = card_payment(declining("insufficient_funds"))
    async with fake_worker(env, task_queue, provider, records):
        handle = await start(env, task_queue, payment)
        await handle.result()
        completed = await current_details(handle)

    assert completed == "completed: the payment failed (card_declined)"


async def test_an_authorization_shows_its_expiry_in_iso_8601(
    env: WorkflowEnvironment, task_queue: str, provider: FakeProvider, records: FakeRecords
) -> None:
    payment = card_payment(CARD_OK, CaptureMethod.MANUAL)
    async with fake_worker(env, task_queue, provider, records):
        handle = await start(env, task_queue, payment)
        await settled(handle, payment)
        waiting = await current_details(handle)
        await handle.terminate()

    assert re.fullmatch(f"authorized; waiting for capture until {ISO_8601}", waiting), waiting
    expiry = moment(waiting) - payment.created_at
    assert abs(expiry - TIMEOUTS.authorization_expiry) < timedelta(minutes=1)


async def test_a_trialing_subscription_shows_the_trial_end_in_iso_8601(
    env: WorkflowEnvironment, task_queue: str, provider: FakeProvider, records: FakeRecords
) -> None:
    billing = FakeBilling({"pm_saved": CARD_OK})
    async with fake_worker(env, task_queue, provider, records, billing):
        subscription, handle = await subscribe(env, task_queue, "pm_saved", trial_days=14)
        trialing = await current_details(handle)
        await handle.terminate()

    trial_end = subscription.created_at + timedelta(days=14)
    assert trialing == f"trialing until {trial_end.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
