"""Risk inside PaymentWorkflow, with fake activities on the time-skipping server: what a block,
a limit, a review and its decisions (from the API or the Temporal UI) or its timeout make of a
payment, what the provider is asked, and what is alerted and audited."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts.alerts import AlertKind, AlertRequest, RaisedAlert
from contracts.audit import AuditRecord
from contracts.payments import CancelRequest, PaymentInput, PaymentStatus, PaymentView
from contracts.providers import CaptureMethod
from contracts.risk import (
    AssessRequest,
    AssessResult,
    PeriodLimits,
    ReviewDecision,
    RiskAssessment,
    RiskDecision,
    RiskFactor,
    RiskLevel,
    RiskRules,
    RiskTerms,
)
from contracts.search_attributes import PAYMENT_STATUS, RISK_LEVEL
from contracts.workflow_names import PaymentUpdate
from tests.workflows.fakes import CARD_OK, FakeProvider, FakeRecords
from tests.workflows.test_payment import DAY, TIMEOUTS, card_payment, settled, start
from workflows.payment import PaymentWorkflow

pytestmark = pytest.mark.timeskip

REVIEW_TIMEOUT = DAY


class FakeRisk:
    """``assess_payment`` answers the decision the test chose; the rest records what it got."""

    def __init__(self, decision: RiskDecision, *, limit_exceeded: bool = False) -> None:
        """Local activities run at least once: the tests compare what they recorded as sets."""
        self.decision = decision
        self.limit_exceeded = limit_exceeded
        self.released: list[str] = []
        self.alerts: list[AlertRequest] = []
        self.audits: list[AuditRecord] = []

    @activity.defn(name="assess_payment")
    async def assess_payment(self, request: AssessRequest) -> AssessResult:
        score = {"approve": 5, "challenge": 35, "review": 65, "block": 90}[self.decision.value]
        factors = [RiskFactor("failed_attempts", score, "3 failed payments in the last hour")]
        return AssessResult(
            risk=RiskAssessment(score, RiskLevel.HIGH, self.decision, factors),
            limit_exceeded=self.limit_exceeded,
        )

    @activity.defn(name="release_limit")
    async def release_limit(self, payment_id: str) -> bool:
        self.released.append(payment_id)
        return True

    @activity.defn(name="raise_alert")
    async def raise_alert(self, request: AlertRequest) -> RaisedAlert:
        self.alerts.append(request)
        return RaisedAlert(id=f"alr_{len(self.alerts)}", created=True)

    @activity.defn(name="record_audit")
    async def record_audit(self, record: AuditRecord) -> str:
        self.audits.append(record)
        return f"aud_{len(self.audits)}"

    def activities(self) -> list[Any]:
        return [self.assess_payment, self.release_limit, self.raise_alert, self.record_audit]


def scored_payment(
    capture_method: CaptureMethod = CaptureMethod.AUTOMATIC,
    review_timeout: int = REVIEW_TIMEOUT,
) -> PaymentInput:
    terms = RiskTerms(
        rules=RiskRules(),
        large_amount=1_000_000,
        limits=PeriodLimits("EUR", daily=200_000, monthly=1_000_000),
        review_timeout_seconds=review_timeout,
    )
    return replace(card_payment(CARD_OK, capture_method), risk=terms)


def worker(
    env: WorkflowEnvironment,
    task_queue: str,
    provider: FakeProvider,
    records: FakeRecords,
    risk: FakeRisk,
) -> Worker:
    return Worker(
        env.client,
        task_queue=task_queue,
        workflows=[PaymentWorkflow],
        activities=[*provider.activities(), *records.activities(), *risk.activities()],
    )


async def decide(
    handle: WorkflowHandle[Any, PaymentView],
    update: PaymentUpdate,
    decision: ReviewDecision | None = None,
) -> PaymentView:
    args = [] if decision is None else [decision]
    view: PaymentView = await handle.execute_update(update, args=args, result_type=PaymentView)
    return view


async def test_a_payment_under_review_is_authorized_only_and_expires_voided(
    env: WorkflowEnvironment, task_queue: str, provider: FakeProvider, records: FakeRecords
) -> None:
    risk = FakeRisk(RiskDecision.REVIEW)
    payment = scored_payment()
    async with worker(env, task_queue, provider, records, risk):
        handle = await start(env, task_queue, payment)
        answer = await settled(handle, payment)
        attributes = (await handle.describe()).typed_search_attributes
        final = await handle.result()

    assert answer.status is PaymentStatus.UNDER_REVIEW
    assert (answer.amount_capturable, answer.amount_captured) == (2500, 0)
    assert attributes.get(PAYMENT_STATUS) == "under_review"
    assert attributes.get(RISK_LEVEL) == "high"
    assert final.status is PaymentStatus.FAILED
    assert final.failure is not None and final.failure.code == "review_expired"
    assert final.amount_captured == 0
    assert [c.activity for c in provider.calls] == [
        "create_intent",
        "confirm_intent",
        "cancel_intent",
    ]
    assert (
        provider.called("cancel_intent")[0].idempotency_key == f"{payment.payment_id}:void_review"
    )
    assert records.event_types(payment.payment_id) == [
        "payment.created",
        "provider.intent_created",
        "review.opened",
        "review.expired",
    ]
    opened = records.timeline(payment.payment_id)[2]
    expires = opened.payment.updated_at + timedelta(seconds=REVIEW_TIMEOUT)
    assert opened.detail["expires_at"] == expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert set(risk.released) == {payment.payment_id}
    assert {(a.action, a.actor_type) for a in risk.audits} == {("review.expire", "system")}


async def test_approved_from_the_temporal_ui_the_review_is_captured(
    env: WorkflowEnvironment, task_queue: str, provider: FakeProvider, records: FakeRecords
) -> None:
    risk = FakeRisk(RiskDecision.REVIEW)
    payment = scored_payment()
    async with worker(env, task_queue, provider, records, risk):
        handle = await start(env, task_queue, payment)
        await settled(handle, payment)
        approved = await decide(handle, PaymentUpdate.APPROVE_REVIEW)

    assert approved.status is PaymentStatus.SUCCEEDED
    assert approved.amount_captured == 2500
    assert provider.called("capture_intent")[0].amount == 2500
    assert {(a.action, a.actor_type) for a in risk.audits} == {("review.approve", "operator")}
    assert risk.released == []


async def test_a_manual_payment_approved_waits_for_its_capture_and_cannot_be_rejected(
    env: WorkflowEnvironment, task_queue: str, provider: FakeProvider, records: FakeRecords
) -> None:
    risk = FakeRisk(RiskDecision.REVIEW)
    payment = scored_payment(CaptureMethod.MANUAL)
    async with worker(env, task_queue, provider, records, risk):
        handle = await start(env, task_queue, payment)
        await settled(handle, payment)
        approved = await decide(
            handle, PaymentUpdate.APPROVE_REVIEW, ReviewDecision("api_key", "key_ops")
        )
        with pytest.raises(WorkflowUpdateFailedError):
            await decide(handle, PaymentUpdate.REJECT_REVIEW)

    assert approved.status is PaymentStatus.REQUIRES_CAPTURE
    assert provider.called("capture_intent") == []
    assert risk.audits == []  # the API audits its own decisions


async def test_rejected_the_authorization_is_voided(
    env: WorkflowEnvironment, task_queue: str, provider: FakeProvider, records: FakeRecords
) -> None:
    risk = FakeRisk(RiskDecision.REVIEW)
    payment = scored_payment()
    async with worker(env, task_queue, provider, records, risk):
        handle = await start(env, task_queue, payment)
        await settled(handle, payment)
        rejected = await decide(
            handle, PaymentUpdate.REJECT_REVIEW, ReviewDecision("api_key", "key_ops")
        )

    assert rejected.status is PaymentStatus.FAILED
    assert rejected.failure is not None and rejected.failure.code == "review_rejected"
    assert provider.called("capture_intent") == []
    assert len(provider.called("cancel_intent")) == 1
    assert risk.audits == []  # the API audits its own decisions, reason included


async def test_an_authorization_expiring_before_the_review_timeout_is_voided_in_time(
    env: WorkflowEnvironment, task_queue: str, provider: FakeProvider, records: FakeRecords
) -> None:
    risk = FakeRisk(RiskDecision.REVIEW)
    short = replace(TIMEOUTS, authorization_expiry_seconds=3600)
    payment = replace(scored_payment(review_timeout=7 * DAY), timeouts=short)
    async with worker(env, task_queue, provider, records, risk):
        handle = await start(env, task_queue, payment)
        final = await handle.result()
        described = await handle.describe()

    assert final.failure is not None and final.failure.code == "review_expired"
    assert described.close_time is not None and described.start_time is not None
    assert described.close_time - described.start_time < timedelta(hours=2)


async def test_a_blocked_payment_fails_without_a_provider_call_and_alerts(
    env: WorkflowEnvironment, task_queue: str, provider: FakeProvider, records: FakeRecords
) -> None:
    risk = FakeRisk(RiskDecision.BLOCK)
    payment = scored_payment()
    async with worker(env, task_queue, provider, records, risk):
        handle = await start(env, task_queue, payment)
        answer = await settled(handle, payment)

    assert answer.status is PaymentStatus.FAILED
    assert answer.failure is not None and answer.failure.code == "blocked_by_risk"
    assert answer.risk is not None and answer.risk.decision is RiskDecision.BLOCK
    assert provider.calls == []
    # A local activity runs at least once (the real alert is idempotent per cause and window).
    assert {a.kind for a in risk.alerts} == {AlertKind.FAILED_ATTEMPTS, AlertKind.BLOCKED_BY_RISK}


async def test_a_payment_past_its_limit_fails_without_a_provider_call(
    env: WorkflowEnvironment, task_queue: str, provider: FakeProvider, records: FakeRecords
) -> None:
    risk = FakeRisk(RiskDecision.APPROVE, limit_exceeded=True)
    payment = scored_payment()
    async with worker(env, task_queue, provider, records, risk):
        handle = await start(env, task_queue, payment)
        answer = await settled(handle, payment)

    assert answer.failure is not None and answer.failure.code == "limit_exceeded"
    assert provider.calls == []
    assert risk.released == []


async def test_a_canceled_review_gives_its_limit_back(
    env: WorkflowEnvironment, task_queue: str, provider: FakeProvider, records: FakeRecords
) -> None:
    risk = FakeRisk(RiskDecision.REVIEW)
    payment = scored_payment()
    async with worker(env, task_queue, provider, records, risk):
        handle = await start(env, task_queue, payment)
        await settled(handle, payment)
        await handle.execute_update(
            PaymentUpdate.CANCEL, CancelRequest("cancel_1", ""), result_type=PaymentView
        )
        final = await handle.result()

    assert final.status is PaymentStatus.CANCELED
    assert set(risk.released) == {payment.payment_id}


async def test_an_approved_manual_payment_waits_only_what_its_authorization_has_left(
    env: WorkflowEnvironment, task_queue: str, provider: FakeProvider, records: FakeRecords
) -> None:
    risk = FakeRisk(RiskDecision.REVIEW)
    payment = scored_payment(CaptureMethod.MANUAL, review_timeout=6 * DAY)
    async with worker(env, task_queue, provider, records, risk):
        handle = await start(env, task_queue, payment)
        await settled(handle, payment)
        await env.sleep(timedelta(days=5))
        await decide(handle, PaymentUpdate.APPROVE_REVIEW)
        final = await handle.result()
        described = await handle.describe()

    assert final.status is PaymentStatus.CANCELED
    assert provider.called("cancel_intent")[0].idempotency_key.endswith(":void_expired")
    assert described.close_time is not None and described.start_time is not None
    assert described.close_time - described.start_time < timedelta(days=7, hours=1)
