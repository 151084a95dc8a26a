"""WebhookDeliveryWorkflow with fake attempts on the time-skipping server: when a failed
delivery is tried again, that a delivered one stops, and that three days of failures disable the
endpoint and raise one alert. Days pass in milliseconds."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts.alerts import AlertKind, AlertRequest, RaisedAlert
from contracts.webhooks_out import (
    AttemptOutcome,
    AttemptResult,
    DeliveryAttempt,
    DeliveryInput,
    DeliveryResult,
    EndpointDisabling,
)
from contracts.workflow_names import WorkflowName
from workflows.policies.webhook_retries import GIVE_UP_AFTER
from workflows.webhook_delivery import WebhookDeliveryWorkflow

pytestmark = pytest.mark.timeskip

DELIVERY = DeliveryInput(
    delivery_id="whd_evt_1_we_1", event_id="evt_1", endpoint_id="we_1", account_id="acct_1"
)

NO_ANSWER = AttemptResult(AttemptOutcome.FAILED, 503)


@dataclass
class FakeEndpoint:
    """Answers attempts from a script (then 503s), noting each attempt's number and
    when (in the server's skipped time) it was scheduled."""

    script: list[AttemptResult]
    attempts: list[tuple[int, datetime]] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    alerts: list[AlertRequest] = field(default_factory=list)

    def activities(self) -> list[object]:
        @activity.defn(name="deliver_webhook")
        async def deliver_webhook(attempt: DeliveryAttempt) -> AttemptResult:
            self.attempts.append((attempt.number, activity.info().current_attempt_scheduled_time))
            return self.script.pop(0) if self.script else NO_ANSWER

        @activity.defn(name="disable_webhook_endpoint")
        async def disable_webhook_endpoint(disabling: EndpointDisabling) -> bool:
            self.disabled.append(disabling.endpoint_id)
            return True

        @activity.defn(name="raise_alert")
        async def raise_alert(request: AlertRequest) -> RaisedAlert:
            self.alerts.append(request)
            return RaisedAlert(id="alr_1", created=True)

        return [deliver_webhook, disable_webhook_endpoint, raise_alert]


async def deliver(env: WorkflowEnvironment, endpoint: FakeEndpoint) -> DeliveryResult:
    task_queue = f"webhook-test-{uuid.uuid4().hex}"
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[WebhookDeliveryWorkflow],
        activities=endpoint.activities(),  # type: ignore[arg-type]
    ):
        result: DeliveryResult = await env.client.execute_workflow(
            WorkflowName.WEBHOOK_DELIVERY,
            DELIVERY,
            id=DELIVERY.delivery_id,
            task_queue=task_queue,
            result_type=DeliveryResult,
        )
        return result


async def test_a_500_is_retried_within_30_seconds_and_a_200_ends_the_delivery(
    env: WorkflowEnvironment,
) -> None:
    endpoint = FakeEndpoint(
        script=[
            AttemptResult(AttemptOutcome.FAILED, 500),
            AttemptResult(AttemptOutcome.DELIVERED, 200),
        ]
    )

    result = await deliver(env, endpoint)

    assert result == DeliveryResult(outcome=AttemptOutcome.DELIVERED, attempts=2)
    (first, first_at), (second, second_at) = endpoint.attempts
    assert (first, second) == (1, 2)
    assert timedelta(0) < second_at - first_at <= timedelta(seconds=30)
    assert endpoint.disabled == [] and endpoint.alerts == []


async def test_three_days_of_failures_disable_the_endpoint_with_one_alert(
    env: WorkflowEnvironment,
) -> None:
    endpoint = FakeEndpoint(script=[])

    result = await deliver(env, endpoint)

    assert result.outcome is AttemptOutcome.FAILED and result.endpoint_disabled
    numbers = [number for number, _ in endpoint.attempts]
    assert numbers == list(range(1, len(numbers) + 1))
    times = [at for _, at in endpoint.attempts]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert gaps[0] <= timedelta(seconds=30)
    assert gaps[:6] == sorted(gaps[:6]), "the waits grow"
    assert max(gaps) <= timedelta(hours=10, seconds=5)
    last_after = times[-1] - times[0]
    assert abs(last_after - GIVE_UP_AFTER) < timedelta(seconds=5), "the last try is at 3 days"
    assert endpoint.disabled == ["we_1"]
    [alert] = endpoint.alerts
    assert (alert.kind, alert.cause, alert.account_id) == (
        AlertKind.WEBHOOK_ENDPOINT_DISABLED,
        "we_1",
        "acct_1",
    )


async def test_a_deleted_endpoint_ends_the_delivery_without_disabling_anything(
    env: WorkflowEnvironment,
) -> None:
    endpoint = FakeEndpoint(
        script=[
            AttemptResult(AttemptOutcome.FAILED, 500),
            AttemptResult(AttemptOutcome.ENDPOINT_GONE),
        ]
    )

    result = await deliver(env, endpoint)

    assert result == DeliveryResult(outcome=AttemptOutcome.ENDPOINT_GONE, attempts=2)
    assert endpoint.disabled == [] and endpoint.alerts == []
