"""Replay committed workflow histories against today's workflow code.

A change that would make a running workflow's history non-deterministic fails here, before it
can reach a worker; such changes must go behind ``workflow.patched``. Payment histories are
recorded from a running dev stack with ``python -m tests.support.record_histories``; the
subscription and dunning ones from the soft-decline scenario of
``tests/integration/workflows/test_dunning.py`` on the time-skipping server (first period paid,
renewal declined twice, recovered on the second retry), saved with
``WorkflowHandle.fetch_history().to_json()``. The webhook delivery ones come from the fake
endpoints of ``tests/workflows/test_webhook_delivery.py`` (a 500 then a 200; three days of
failures), recorded the same way.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows.dunning import DunningWorkflow
from workflows.payment import PaymentWorkflow
from workflows.payment_method import AttachPaymentMethodWorkflow
from workflows.subscription import SubscriptionWorkflow
from workflows.webhook_delivery import WebhookDeliveryWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_there_are_committed_histories() -> None:
    assert len(HISTORIES) >= 3


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(
        workflows=[
            PaymentWorkflow,
            AttachPaymentMethodWorkflow,
            SubscriptionWorkflow,
            DunningWorkflow,
            WebhookDeliveryWorkflow,
        ]
    )
    await replayer.replay_workflow(history)
