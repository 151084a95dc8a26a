"""A worker SIGKILLed while it waits for a merchant's answer: the event is still delivered (at
least once: the merchant may see it twice, with the same ``webhook-id``) and the attempt is
recorded once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy import select
from standardwebhooks import Webhook

from activities.webhooks_out.dispatch import delivery_id, start_delivery
from contracts.webhooks_out import AttemptOutcome, DeliveryInput, DeliveryResult
from db.models import WebhookDelivery
from db.repositories import webhooks_out as webhooks_repo
from settings import DEV_ACCOUNT_ID
from tests.support.chaos import running_worker
from tests.support.polling import eventually
from tests.support.stack import Stack
from tests.support.webhook_receiver import running_receiver

REDELIVERY_BUDGET = 90.0
"""Seconds for Temporal to time out the killed attempt (30 s), a new worker to start and the
attempt to run again."""


async def test_a_delivery_in_flight_survives_a_worker_kill_recorded_once(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    task_queue = f"chaos-webhooks-{uuid.uuid4().hex[:8]}"
    with running_receiver(hold_first=True) as receiver:
        created = await api.post(
            "/v1/webhook-endpoints", json={"url": receiver.url, "events": ["review.closed"]}
        )
        assert created.status_code == 201, created.text
        endpoint = created.json()
        async with stack.sessions() as session, session.begin():
            event_id = await webhooks_repo.record_event(
                session,
                account_id=DEV_ACCOUNT_ID,
                type="review.closed",
                resource_id=f"pay_{uuid.uuid4().hex[:12]}",
                dedupe_key=f"chaos:{uuid.uuid4().hex}",
                resource={"decision": "approved"},
                created_at=datetime.now(UTC),
            )
        assert event_id is not None
        delivery = DeliveryInput(
            delivery_id=delivery_id(event_id, endpoint["id"]),
            event_id=event_id,
            endpoint_id=endpoint["id"],
            account_id=DEV_ACCOUNT_ID,
        )
        try:
            async with running_worker(stack, stack.client, task_queue) as worker:
                await start_delivery(stack.client, task_queue, delivery)
                await eventually(lambda: receiver.of_event(event_id), lambda got: len(got) == 1)
                await worker.kill()
                receiver.release()
                await worker.start()
                handle = stack.client.get_workflow_handle(
                    delivery.delivery_id, result_type=DeliveryResult
                )
                async with asyncio.timeout(REDELIVERY_BUDGET):
                    result = await handle.result()
                requests = await receiver.of_event(event_id)
        finally:
            await api.delete(f"/v1/webhook-endpoints/{endpoint['id']}")

    assert result == DeliveryResult(outcome=AttemptOutcome.DELIVERED, attempts=1)
    assert len(requests) >= 2, "the killed attempt was made again"
    assert {request.headers["webhook-id"] for request in requests} == {event_id}
    for request in requests:
        assert Webhook(endpoint["secret"]).verify(request.body, request.headers)["id"] == event_id
    async with stack.sessions() as session:
        rows = list(
            await session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.event_id == event_id)
            )
        )
    assert [(row.attempt, row.status, row.response_code) for row in rows] == [(1, "delivered", 200)]
