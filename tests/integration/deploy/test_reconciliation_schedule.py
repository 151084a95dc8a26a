"""The reconciliation Schedule is created at deploy time, idempotently: a second deploy finds it
and brings it up to date instead of failing or adding another (real Temporal dev server)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.service import RPCError, RPCStatusCode

from contracts.reconciliation import RECONCILIATION_SCHEDULE_ID, ReconciliationInput
from contracts.workflow_names import WorkflowName
from services.reconciliation import ensure_schedule
from tests.support.stack import Stack


async def test_a_second_deploy_updates_the_one_schedule(stack: Stack) -> None:
    hourly = stack.settings.model_copy(update={"reconciliation_interval": timedelta(hours=1)})
    every_ten = stack.settings.model_copy(
        update={
            "reconciliation_interval": timedelta(minutes=10),
            "reconciliation_orphan_grace": timedelta(minutes=30),
        }
    )
    await forget_schedule(stack)
    try:
        assert await ensure_schedule(stack.client, hourly) is True
        assert await ensure_schedule(stack.client, every_ten) is False

        described = await stack.client.get_schedule_handle(RECONCILIATION_SCHEDULE_ID).describe()
        assert [i.every for i in described.schedule.spec.intervals] == [timedelta(minutes=10)]
        action = described.schedule.action
        assert action.workflow == WorkflowName.RECONCILIATION  # type: ignore[attr-defined]
        (terms,) = await stack.client.data_converter.decode(
            action.args,  # type: ignore[attr-defined]
            [ReconciliationInput],
        )
        assert terms.orphan_grace == timedelta(minutes=30)
    finally:
        await forget_schedule(stack)


async def forget_schedule(stack: Stack) -> None:
    """The session's Temporal is shared: a test before this one may have deployed the Schedule."""
    try:
        await stack.client.get_schedule_handle(RECONCILIATION_SCHEDULE_ID).delete()
    except RPCError as error:
        if error.status is not RPCStatusCode.NOT_FOUND:
            raise
