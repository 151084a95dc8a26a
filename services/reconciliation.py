"""Reconciliation for operators: the Schedule that runs it, runs started now, and the run list.

The Schedule is created at deploy time, by the worker's start-up (so by every deploy of the worker
container and by ``make dev``), idempotently: a second creation finds it and brings its interval
and terms up to date with the settings instead of failing or adding another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError

from contracts.providers import ProviderName
from contracts.reconciliation import (
    RECONCILIATION_SCHEDULE_ID,
    SCHEDULED_RUN_PREFIX,
    ReconciliationInput,
)
from contracts.workflow_names import WorkflowName
from db.models import ReconciliationRun
from db.repositories import reconciliation as reconciliation_repo
from services.database import ensure_no_open_session
from services.idempotency import random_id
from services.runtime import Runtime
from services.temporal import rpc_error
from settings import Settings

RUNS_LISTED = 50


def run_terms(settings: Settings) -> ReconciliationInput:
    return ReconciliationInput(
        operator_account=settings.alerts_account_id,
        first_lookback_seconds=int(settings.reconciliation_first_lookback.total_seconds()),
        orphan_grace_seconds=int(settings.reconciliation_orphan_grace.total_seconds()),
        clock_skew_seconds=int(settings.reconciliation_clock_skew.total_seconds()),
        providers=[ProviderName.STRIPE, ProviderName.PAYPAL],
    )


def _schedule(settings: Settings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            WorkflowName.RECONCILIATION,
            run_terms(settings),
            id=SCHEDULED_RUN_PREFIX,
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=settings.reconciliation_interval)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_schedule(client: Client, settings: Settings) -> bool:
    """Create the reconciliation Schedule, or update the one there to these settings; True when
    this call created it."""
    ensure_no_open_session()
    wanted = _schedule(settings)
    try:
        await client.create_schedule(RECONCILIATION_SCHEDULE_ID, wanted)
    except ScheduleAlreadyRunningError:

        def replace(_current: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=wanted)

        await client.get_schedule_handle(RECONCILIATION_SCHEDULE_ID).update(replace)
        return False
    return True


@dataclass(frozen=True)
class StartedRun:
    id: str
    started_at: datetime


async def start_run(runtime: Runtime) -> StartedRun:
    """Start a run now, beside the Schedule's; it is listed once its workflow has begun."""
    ensure_no_open_session()
    run_id = random_id("rec_")
    try:
        await runtime.client.start_workflow(
            WorkflowName.RECONCILIATION,
            run_terms(runtime.settings),
            id=run_id,
            task_queue=runtime.settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary="Reconciliation started by an operator",
        )
    except RPCError as error:
        raise rpc_error(error) from None
    return StartedRun(id=run_id, started_at=datetime.now(UTC))


async def list_runs(runtime: Runtime) -> Sequence[ReconciliationRun]:
    """The most recent runs, newest first."""
    async with runtime.database.reading() as session:
        return await reconciliation_repo.list_runs(session, RUNS_LISTED)
