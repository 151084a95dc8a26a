"""WebhookDeliveryWorkflow: one event to one endpoint, retried on timers for three days.

Each attempt is one activity (signed POST and its record), so every attempt appears once in the
history and once in ``webhook_deliveries``. After three days of failures the endpoint is
disabled and an operator alert raised. WebhookSweepWorkflow is what the sweep's Schedule runs.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.webhooks_out.delivery import WebhookDeliveryActivities
    from activities.webhooks_out.dispatch import SweepActivities
    from contracts.alerts import AlertKind, AlertRequest, AlertSeverity, RaisedAlert
    from contracts.webhooks_out import (
        AttemptOutcome,
        AttemptResult,
        DeliveryAttempt,
        DeliveryInput,
        DeliveryResult,
        EndpointDisabling,
        SweepResult,
    )
    from contracts.workflow_names import WorkflowName
    from workflows.policies.retries import DB_TIMEOUT, RECORD_RETRY_POLICY
    from workflows.policies.webhook_retries import (
        ATTEMPT_RETRY_POLICY,
        ATTEMPT_TIMEOUT,
        GIVE_UP_AFTER,
        next_delay,
    )

RAISE_ALERT_ACTIVITY = "raise_alert"
"""The foundation's alert activity (``activities/oversight.py``), called by name."""


@workflow.defn(name=WorkflowName.WEBHOOK_DELIVERY)
class WebhookDeliveryWorkflow:
    @workflow.run
    async def run(self, delivery: DeliveryInput) -> DeliveryResult:
        first_attempt_at = workflow.now()
        attempt = 0
        while True:
            attempt += 1
            workflow.set_current_details(f"Attempt {attempt} of delivering {delivery.event_id}.")
            result: AttemptResult = await workflow.execute_activity_method(
                WebhookDeliveryActivities.deliver_webhook,
                DeliveryAttempt(
                    delivery_id=delivery.delivery_id,
                    event_id=delivery.event_id,
                    endpoint_id=delivery.endpoint_id,
                    number=attempt,
                ),
                start_to_close_timeout=ATTEMPT_TIMEOUT,
                retry_policy=ATTEMPT_RETRY_POLICY,
            )
            if result.outcome is not AttemptOutcome.FAILED:
                return DeliveryResult(outcome=result.outcome, attempts=attempt)
            delay = next_delay(attempt, workflow.now() - first_attempt_at)
            if delay is None:
                break
            retry_at = workflow.now() + delay
            workflow.set_current_details(
                f"Attempt {attempt} failed ({result.response_code or 'no answer'}); "
                f"next attempt at {retry_at.isoformat()}."
            )
            await workflow.sleep(delay)
        disabled = await self._disable(delivery)
        return DeliveryResult(
            outcome=AttemptOutcome.FAILED, attempts=attempt, endpoint_disabled=disabled
        )

    async def _disable(self, delivery: DeliveryInput) -> bool:
        disabled: bool = await workflow.execute_activity_method(
            WebhookDeliveryActivities.disable_webhook_endpoint,
            EndpointDisabling(endpoint_id=delivery.endpoint_id, delivery_id=delivery.delivery_id),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=RECORD_RETRY_POLICY,
        )
        if disabled:
            days = GIVE_UP_AFTER // timedelta(days=1)
            await workflow.execute_activity(
                RAISE_ALERT_ACTIVITY,
                AlertRequest(
                    account_id=delivery.account_id,
                    kind=AlertKind.WEBHOOK_ENDPOINT_DISABLED,
                    severity=AlertSeverity.MEDIUM,
                    cause=delivery.endpoint_id,
                    detail=(
                        f"Webhook endpoint {delivery.endpoint_id} disabled: every delivery of "
                        f"{delivery.event_id} failed for {days} days."
                    ),
                ),
                result_type=RaisedAlert,
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=RECORD_RETRY_POLICY,
            )
        return disabled


@workflow.defn(name=WorkflowName.WEBHOOK_SWEEP)
class WebhookSweepWorkflow:
    """One sweep: deliveries nobody started, events past retention (``activities.webhooks_out
    .dispatch``)."""

    @workflow.run
    async def run(self) -> SweepResult:
        return await workflow.execute_activity_method(
            SweepActivities.sweep_webhook_events,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RECORD_RETRY_POLICY,
        )
