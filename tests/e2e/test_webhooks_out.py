"""Webhooks to merchants through the whole stack: a payment's event reaches a merchant's receiver
(after a failed attempt), signed so that the Standard Webhooks library verifies it as a merchant
would, and rolling the endpoint's secret changes which secrets verify."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.testing import ActivityEnvironment

from activities.webhooks_out.dispatch import (
    SWEEP_EVERY,
    SWEEP_SCHEDULE_ID,
    SweepActivities,
    ensure_sweep_schedule,
)
from contracts.workflow_names import WorkflowName
from db.repositories import webhooks_out as webhooks_repo
from settings import DEV_ACCOUNT_ID, DEV_ADMIN_KEY
from tests.support.flows import CARD_OK, card_customer, pay
from tests.support.polling import eventually
from tests.support.stack import Stack
from tests.support.webhook_receiver import Received, Receiver, running_receiver


def verified(secret: str, request: Received) -> dict[str, object]:
    payload: dict[str, object] = Webhook(secret).verify(request.body, request.headers)
    return payload


@pytest.fixture
async def endpoint_of(api: httpx.AsyncClient) -> AsyncIterator[list[str]]:
    """Endpoints a test registers, deleted after it so later tests' events do not go there."""
    created: list[str] = []
    yield created
    for endpoint_id in created:
        await api.delete(f"/v1/webhook-endpoints/{endpoint_id}")


async def register(
    api: httpx.AsyncClient, receiver: Receiver, created: list[str], events: list[str]
) -> dict[str, str]:
    response = await api.post("/v1/webhook-endpoints", json={"url": receiver.url, "events": events})
    assert response.status_code == 201, response.text
    endpoint: dict[str, str] = response.json()
    created.append(endpoint["id"])
    return endpoint


async def succeeded_payment_event(api: httpx.AsyncClient, stack: Stack) -> tuple[str, str]:
    """A card payment that succeeds; its id and its ``payment.succeeded`` event's id."""
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    payment = (await pay(api, customer_id, method_id, amount=2599, currency="eur")).json()
    assert payment["status"] == "succeeded"

    async def events() -> list[dict[str, object]]:
        page = await api.get("/v1/events", params={"type": "payment.succeeded", "limit": 100})
        return [e for e in page.json()["data"] if e["data"]["object"]["id"] == payment["id"]]

    found = await eventually(events, lambda listed: len(listed) == 1)
    return payment["id"], str(found[0]["id"])


async def test_payment_succeeded_reaches_the_endpoint_after_one_failed_attempt(
    api: httpx.AsyncClient, stack: Stack, endpoint_of: list[str]
) -> None:
    with running_receiver(script=[500]) as receiver:
        endpoint = await register(api, receiver, endpoint_of, ["payment.succeeded"])
        assert endpoint["secret"].startswith("whsec_")
        assert endpoint["status"] == "enabled"

        payment_id, event_id = await succeeded_payment_event(api, stack)

        requests = await eventually(
            lambda: receiver.of_event(event_id), lambda got: len(got) >= 2, timeout=40
        )
    assert [r.answered for r in requests] == [500, 200]
    assert requests[1].at - requests[0].at <= 30, "the first retry comes within 30 s"
    payloads = [verified(endpoint["secret"], request) for request in requests]
    assert payloads[0] == payloads[1]
    event = payloads[0]
    assert (event["id"], event["type"]) == (event_id, "payment.succeeded")
    resource = event["data"]["object"]  # type: ignore[index]
    assert (resource["id"], resource["status"]) == (payment_id, "succeeded")
    assert resource == (await api.get(f"/v1/payments/{payment_id}")).json()
    assert json.loads(requests[1].body) == (await api.get(f"/v1/events/{event_id}")).json()

    attempts = (await api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries")).json()["data"]
    assert [(a["attempt"], a["status"], a["response_code"]) for a in attempts] == [
        (2, "delivered", 200),
        (1, "failed", 500),
    ]
    assert {a["event_id"] for a in attempts} == {event_id}


async def test_after_a_roll_with_no_overlap_only_the_new_secret_verifies(
    api: httpx.AsyncClient, stack: Stack, endpoint_of: list[str]
) -> None:
    with running_receiver() as receiver:
        endpoint = await register(api, receiver, endpoint_of, ["*"])
        first_secret = endpoint["secret"]
        _, event_id = await succeeded_payment_event(api, stack)
        delivered = await eventually(lambda: receiver.of_event(event_id), lambda got: len(got) == 1)
        verified(first_secret, delivered[0])

        overlapping = await api.post(
            f"/v1/webhook-endpoints/{endpoint['id']}/roll-secret", json={"expires_in": 3600}
        )
        assert overlapping.status_code == 200, overlapping.text
        second_secret = overlapping.json()["secret"]
        assert (await api.post(f"/v1/events/{event_id}/redeliver")).status_code == 202
        during_overlap = await eventually(
            lambda: receiver.of_event(event_id), lambda got: len(got) == 2
        )
        for secret in (first_secret, second_secret):
            verified(secret, during_overlap[1])

        rolled = await api.post(
            f"/v1/webhook-endpoints/{endpoint['id']}/roll-secret", json={"expires_in": 0}
        )
        newest_secret = rolled.json()["secret"]
        assert len({first_secret, second_secret, newest_secret}) == 3
        assert (await api.post(f"/v1/events/{event_id}/redeliver")).status_code == 202
        after_roll = await eventually(
            lambda: receiver.of_event(event_id), lambda got: len(got) == 3
        )
    assert verified(newest_secret, after_roll[2])["id"] == event_id
    for retired in (first_secret, second_secret):
        with pytest.raises(WebhookVerificationError):
            verified(retired, after_roll[2])
    listed = (await api.get(f"/v1/webhook-endpoints/{endpoint['id']}")).json()
    assert "secret" not in listed
    audited = await api.get(
        "/v1/admin/audit",
        params={"resource_id": endpoint["id"]},
        headers={"Authorization": f"Bearer {DEV_ADMIN_KEY}"},
    )
    entries = audited.json()["data"]
    assert [entry["action"] for entry in entries] == [
        "webhook_endpoint.roll_secret",
        "webhook_endpoint.roll_secret",
        "webhook_endpoint.create",
    ]
    assert not any(secret in audited.text for secret in (first_secret, newest_secret))


async def test_an_event_nobody_dispatched_is_delivered_once_by_the_sweep(
    api: httpx.AsyncClient, stack: Stack, endpoint_of: list[str]
) -> None:
    """As if the worker that wrote the event died before starting its delivery: the sweep starts
    it, and a second sweep (or the writer after all) starts nothing more. (No grace: the sweep
    leaves a fresh event to its writer for 30 s.)"""
    sweeping = ActivityEnvironment(client=stack.client)
    sweeping.info = replace(sweeping.info, task_queue=stack.settings.task_queue)
    sweep = SweepActivities(stack.sessions, grace=timedelta(0)).sweep_webhook_events
    with running_receiver() as receiver:
        await register(api, receiver, endpoint_of, ["invoice.paid"])
        async with stack.sessions() as session, session.begin():
            event_id = await webhooks_repo.record_event(
                session,
                account_id=DEV_ACCOUNT_ID,
                type="invoice.paid",
                resource_id="in_swept",
                dedupe_key=f"in_swept:{uuid.uuid4().hex}",
                resource={"id": "in_swept", "status": "paid"},
                created_at=datetime.now(UTC),
            )
        assert event_id is not None

        first = await sweeping.run(sweep)
        await eventually(lambda: receiver.of_event(event_id), lambda got: len(got) == 1)
        second = await sweeping.run(sweep)
        await asyncio.sleep(1)
        delivered = await receiver.of_event(event_id)

    assert first.dispatched >= 1 and second.dispatched == 0
    assert len(delivered) == 1


async def test_the_sweep_schedule_is_created_once_however_often_a_worker_starts(
    stack: Stack,
) -> None:
    await ensure_sweep_schedule(stack.client, stack.settings.task_queue)
    await ensure_sweep_schedule(stack.client, stack.settings.task_queue)
    handle = stack.client.get_schedule_handle(SWEEP_SCHEDULE_ID)
    try:
        described = await handle.describe()
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.workflow == WorkflowName.WEBHOOK_SWEEP
        assert [spec.every for spec in described.schedule.spec.intervals] == [SWEEP_EVERY]
    finally:
        await handle.delete()
