"""A merchant's endpoint that answers 500 for three days, with the real worker and database on
the time-skipping server: every attempt is recorded, then the endpoint is disabled and one
``webhook_endpoint_disabled`` alert raised."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx

from activities.webhooks_out.dispatch import delivery_id
from contracts.webhooks_out import AttemptOutcome, DeliveryInput, DeliveryResult
from contracts.workflow_names import WorkflowName
from db.repositories import webhooks_out as webhooks_repo
from settings import DEV_ACCOUNT_ID, DEV_ADMIN_KEY
from tests.support.stack import Stack
from tests.support.timeskip import TimeSkipping
from tests.support.webhook_receiver import running_receiver


async def test_three_days_of_500s_disable_the_endpoint_with_an_alert(
    api: httpx.AsyncClient, stack: Stack, timeskip: TimeSkipping
) -> None:
    with running_receiver(script=[500] * 100) as receiver:
        created = await api.post(
            "/v1/webhook-endpoints", json={"url": receiver.url, "events": ["invoice.paid"]}
        )
        endpoint = created.json()
        async with stack.sessions() as session, session.begin():
            event_id = await webhooks_repo.record_event(
                session,
                account_id=DEV_ACCOUNT_ID,
                type="invoice.paid",
                resource_id="in_failing",
                dedupe_key=f"in_failing:{uuid.uuid4().hex}",
                resource={"id": "in_failing"},
                created_at=datetime.now(UTC),
            )
        assert event_id is not None
        delivery = DeliveryInput(
            delivery_id=delivery_id(event_id, endpoint["id"]),
            event_id=event_id,
            endpoint_id=endpoint["id"],
            account_id=DEV_ACCOUNT_ID,
        )
        result = await timeskip.client.execute_workflow(
            WorkflowName.WEBHOOK_DELIVERY,
            delivery,
            id=delivery.delivery_id,
            task_queue=timeskip.settings.task_queue,
            result_type=DeliveryResult,
        )
        requests = await receiver.of_event(event_id)

    assert result.outcome is AttemptOutcome.FAILED and result.endpoint_disabled
    assert len(requests) == result.attempts
    attempts = (
        await api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries", params={"limit": 100})
    ).json()["data"]
    assert sorted(a["attempt"] for a in attempts) == list(range(1, result.attempts + 1))
    assert {(a["status"], a["response_code"]) for a in attempts} == {("failed", 500)}
    shown = (await api.get(f"/v1/webhook-endpoints/{endpoint['id']}")).json()
    assert shown["status"] == "disabled" and shown["disabled_at"] is not None
    alerts = (
        await api.get(
            "/v1/admin/alerts",
            params={"kind": "webhook_endpoint_disabled"},
            headers={"Authorization": f"Bearer {DEV_ADMIN_KEY}"},
        )
    ).json()["data"]
    [alert] = [alert for alert in alerts if endpoint["id"] in alert["detail"]]
    assert alert["severity"] == "medium" and alert["resolved_at"] is None
