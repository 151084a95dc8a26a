"""ReconciliationWorkflow: one comparison of what Stripe and PayPal hold with what Durapay recorded.

Started hourly by the ``durapay-reconciliation`` Schedule (and on request by operators); the run's
ID is its workflow ID. It lists each provider's objects created since the last finished run's
watermark, has each judged against the payment that records it (``activities/reconciliation.py``),
and acts: a payment whose provider moved on is signalled to re-read it, an unconfirmed intent no
payment owns is canceled, and anything else (a charge no payment owns) raises a
``reconciliation_drift`` alert. Stored webhooks that matched no payment are delivered again to
the payment they match now. Every action is idempotent (signals are deduplicated by event ID,
cancels re-read first, alerts are one per cause and window), so a repeated run is harmless.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.oversight import OversightActivities
    from activities.payments import PaymentActivities
    from activities.reconciliation import ReconciliationActivities
    from contracts.alerts import AlertKind, AlertRequest, AlertSeverity
    from contracts.payments import ProviderEvent
    from contracts.providers import IntentCall, IntentResult, IntentStatus
    from contracts.reconciliation import (
        ComparisonRequest,
        Drift,
        DriftAction,
        DriftKind,
        ProviderListing,
        ProviderObject,
        ReconciliationInput,
        ReconciliationResult,
        RunClosing,
        RunOpening,
        StoredEvent,
    )
    from contracts.workflow_names import PaymentSignal, WorkflowName
    from workflows.database import call_database
    from workflows.policies.retries import (
        DB_TIMEOUT,
        PROVIDER_RETRY_POLICY,
        RECORD_RETRY_POLICY,
    )

LISTING_TIMEOUT = timedelta(minutes=2)
"""One listing call (all pages of one provider)."""
LISTING_GIVE_UP = timedelta(minutes=10)
"""A provider that cannot be listed for this long is skipped this run (and alerted on); the
watermark then stays where it was, so the next run lists the same period again."""
ACTION_TIMEOUT = timedelta(seconds=30)
ALERT_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
REREAD_EVENT = "reconciliation.reread"


@workflow.defn(name=WorkflowName.RECONCILIATION)
class ReconciliationWorkflow:
    """One run; returns what it checked and the differences it found."""

    @workflow.run
    async def run(self, terms: ReconciliationInput) -> ReconciliationResult:
        run_id = workflow.info().workflow_id
        started_at = workflow.now()
        since = await call_database(
            ReconciliationActivities.open_run,
            RunOpening(run_id, started_at, terms.first_lookback_seconds),
        )
        listed_from = since - terms.clock_skew
        objects: list[ProviderObject] = []
        complete = True
        for provider in terms.providers:
            workflow.set_current_details(f"listing {provider} since {listed_from.isoformat()}")
            try:
                objects += await workflow.execute_activity_method(
                    ReconciliationActivities.list_provider_objects,
                    ProviderListing(provider, listed_from),
                    start_to_close_timeout=LISTING_TIMEOUT,
                    schedule_to_close_timeout=LISTING_GIVE_UP,
                    retry_policy=PROVIDER_RETRY_POLICY,
                )
            except ActivityError:
                complete = False
                await self._alert(
                    terms.operator_account,
                    provider.value,
                    f"Reconciliation run {run_id} could not list {provider}; the period since "
                    f"{listed_from.isoformat()} is listed again by the next run.",
                )
        workflow.set_current_details(f"comparing {len(objects)} provider object(s)")
        drift = await call_database(
            ReconciliationActivities.compare,
            ComparisonRequest(objects, terms.orphan_grace_seconds, workflow.now()),
        )
        for found in drift:
            await self._act(run_id, found, terms.operator_account)
        drift += await self._redeliver_unmatched_events()
        await call_database(
            ReconciliationActivities.close_run,
            RunClosing(
                run_id=run_id,
                finished_at=workflow.now(),
                checked=len(objects),
                drift=drift,
                watermark=started_at if complete else since,
            ),
        )
        workflow.set_current_details(
            f"checked {len(objects)} provider object(s); {len(drift)} difference(s)"
        )
        return ReconciliationResult(run_id=run_id, checked=len(objects), drift=drift)

    async def _act(self, run_id: str, found: Drift, operator_account: str) -> None:
        if found.action is DriftAction.SIGNALED and found.payment_id is not None:
            await self._signal(found.payment_id, found, f"{run_id}:{found.reference}")
        elif found.action is DriftAction.CANCELED:
            canceled: IntentResult = await workflow.execute_activity_method(
                PaymentActivities.cancel_intent,
                IntentCall(
                    provider=found.provider,
                    reference=found.reference,
                    idempotency_key=f"reconcile:cancel:{found.reference}",
                ),
                start_to_close_timeout=ACTION_TIMEOUT,
                schedule_to_close_timeout=LISTING_GIVE_UP,
                retry_policy=PROVIDER_RETRY_POLICY,
            )
            if canceled.status is not IntentStatus.CANCELED:
                await self._alert_drift(found, operator_account)
        else:
            await self._alert_drift(found, operator_account)

    async def _signal(self, payment_id: str, found: Drift, event_id: str) -> None:
        """Ask the owning payment to re-read its provider object; a closed payment has
        nothing left to learn."""
        try:
            await workflow.get_external_workflow_handle(payment_id).signal(
                PaymentSignal.PROVIDER_EVENT,
                ProviderEvent(found.provider, event_id, REREAD_EVENT, found.reference),
            )
        except FailureError:
            workflow.logger.info("%s is closed; not signalled", payment_id)

    async def _alert_drift(self, found: Drift, operator_account: str) -> None:
        owner = f"payment {found.payment_id}" if found.payment_id else "no payment"
        await self._alert(
            found.account_id or operator_account,
            found.reference,
            f"{found.kind}: {found.provider} {found.reference} ({found.provider_status}, "
            f"{found.amount} {found.currency} minor units) is owned by {owner}"
            + (f" recorded as {found.recorded_status}" if found.recorded_status else "")
            + ".",
            payment_id=found.payment_id,
        )

    async def _alert(
        self, account_id: str, cause: str, detail: str, payment_id: str | None = None
    ) -> None:
        await workflow.execute_activity_method(
            OversightActivities.raise_alert,
            AlertRequest(
                account_id=account_id,
                kind=AlertKind.RECONCILIATION_DRIFT,
                severity=AlertSeverity.HIGH,
                cause=cause,
                detail=detail,
                payment_id=payment_id,
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=ALERT_RETRY_POLICY,
        )

    async def _redeliver_unmatched_events(self) -> list[Drift]:
        """Deliver stored webhooks that matched no payment to the payment they match now."""
        stored: list[StoredEvent] = await workflow.execute_activity_method(
            ReconciliationActivities.unmatched_events,
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=RECORD_RETRY_POLICY,
        )
        delivered: list[Drift] = []
        for event in stored:
            if event.payment_id is None:
                continue
            try:
                await workflow.get_external_workflow_handle(event.payment_id).signal(
                    PaymentSignal.PROVIDER_EVENT,
                    ProviderEvent(
                        event.provider, event.event_id, event.event_type, event.reference
                    ),
                )
            except FailureError:
                workflow.logger.info("%s is closed; event not delivered", event.payment_id)
            await call_database(ReconciliationActivities.mark_redelivered, event)
            delivered.append(
                Drift(
                    kind=DriftKind.UNMATCHED_EVENT,
                    action=DriftAction.REDELIVERED,
                    provider=event.provider,
                    reference=event.event_id,
                    payment_id=event.payment_id,
                )
            )
        return delivered
