"""Starting delivery workflows for committed events: one per (event, endpoint), exactly once.

The activity that wrote an event starts its deliveries right after its transaction commits
(``dispatch_committed``), then marks the event dispatched. A worker that dies between the commit
and the mark leaves the event undispatched, and the sweep (``WebhookSweepWorkflow``, run by a
Temporal Schedule every minute) starts what is missing. Starting twice is harmless: a delivery's
workflow ID is ``whd_<event>_<endpoint>`` and is never reused, so the second start finds the first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contracts.webhooks_out import DeliveryInput, SweepResult
from contracts.workflow_names import WorkflowName
from db.models import Event
from db.repositories import webhooks_out as webhooks_repo

log = logging.getLogger("durapay.webhooks_out")

EVENT_RETENTION = timedelta(days=30)
SWEEP_EVERY = timedelta(minutes=1)
SWEEP_GRACE = timedelta(seconds=30)
"""An event younger than this is its writer's to dispatch; the sweep leaves it alone."""
SWEEP_BATCH = 500
SWEEP_SCHEDULE_ID = "webhook-sweep"
DISPATCH_TIMEOUT = timedelta(seconds=5)
"""How long a projection write may spend starting deliveries after its commit: well inside its
local activity's timeout, so a slow Temporal never makes the write itself time out and retry."""


def delivery_id(event_id: str, endpoint_id: str) -> str:
    return f"whd_{event_id}_{endpoint_id}"


async def start_delivery(client: Client, task_queue: str, delivery: DeliveryInput) -> None:
    """Start the delivery's workflow, or find it started (running or closed) already."""
    try:
        await client.start_workflow(
            WorkflowName.WEBHOOK_DELIVERY,
            delivery,
            id=delivery.delivery_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=f"Deliver {delivery.event_id} to {delivery.endpoint_id}",
        )
    except WorkflowAlreadyStartedError:
        return
    except RPCError as error:
        if error.status is not RPCStatusCode.ALREADY_EXISTS:
            raise


async def _start_deliveries(
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    task_queue: str,
    events: Sequence[Event],
) -> int:
    started = 0
    for event in events:
        async with sessions() as session:
            endpoints = await webhooks_repo.endpoints_for(session, event)
        for endpoint in endpoints:
            await start_delivery(
                client,
                task_queue,
                DeliveryInput(
                    delivery_id=delivery_id(event.id, endpoint.id),
                    event_id=event.id,
                    endpoint_id=endpoint.id,
                    account_id=event.account_id,
                ),
            )
            started += 1
    async with sessions() as session, session.begin():
        await webhooks_repo.mark_dispatched(
            session, [event.id for event in events], datetime.now(UTC)
        )
    return started


async def dispatch_committed(
    sessions: async_sessionmaker[AsyncSession], event_ids: Sequence[str]
) -> None:
    """Called by an activity after the transaction that wrote ``event_ids`` committed. A failure
    here (Temporal unreachable) must not undo or repeat that write, so it is logged and left to
    the sweep."""
    if not event_ids:
        return
    try:
        async with asyncio.timeout(DISPATCH_TIMEOUT.total_seconds()):
            async with sessions() as session:
                events = [
                    event
                    for event_id in event_ids
                    if (event := await webhooks_repo.get_event(session, event_id, None)) is not None
                ]
            await _start_deliveries(sessions, activity.client(), activity.info().task_queue, events)
    except Exception as error:
        log.warning(
            "events %s left for the sweep to dispatch: %s",
            ",".join(event_ids),
            type(error).__name__,
        )


class SweepActivities:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], grace: timedelta = SWEEP_GRACE
    ) -> None:
        self._sessions = sessions
        self._grace = grace

    @activity.defn(name="sweep_webhook_events")
    async def sweep_webhook_events(self) -> SweepResult:
        """Start the deliveries of events nobody dispatched, and forget events past retention."""
        now = datetime.now(UTC)
        async with self._sessions() as session:
            missed = await webhooks_repo.undispatched_events(
                session, created_before=now - self._grace, limit=SWEEP_BATCH
            )
        dispatched = await _start_deliveries(
            self._sessions, activity.client(), activity.info().task_queue, missed
        )
        async with self._sessions() as session, session.begin():
            expired = await webhooks_repo.expire_events(session, now - EVENT_RETENTION)
        return SweepResult(dispatched=dispatched, expired=expired)


async def ensure_sweep_schedule(client: Client, task_queue: str) -> None:
    """Create the sweep's Schedule once per deployment; a worker restart finds it running."""
    try:
        await client.create_schedule(
            SWEEP_SCHEDULE_ID,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    WorkflowName.WEBHOOK_SWEEP, id=SWEEP_SCHEDULE_ID, task_queue=task_queue
                ),
                spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=SWEEP_EVERY)]),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            ),
        )
    except ScheduleAlreadyRunningError:
        return
