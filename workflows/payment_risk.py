"""Risk inside ``PaymentWorkflow``: the assessment before any money moves, the refusals it
leads to, the review that holds an authorization until an operator decides, and the release of
a limit reservation when the payment ends unpaid.

A mixin of the workflow, so the review's updates are the workflow's own and the money still
moves under its ``_money_lock``. Every step here runs only for a payment started with risk terms
(``PaymentInput.risk``, set by ``POST /v1/payments``) and behind ``workflow.patched`` (the
``risk-assessment`` patch, or ``provider-calls-local-first``, which came later and implies it), so
the histories recorded before risk existed replay unchanged.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.oversight import OversightActivities
    from activities.payments import PaymentActivities
    from activities.risk import RiskActivities
    from contracts.audit import ActorType, AuditRecord
    from contracts.payments import Failure, PaymentStatus, PaymentView
    from contracts.providers import CaptureMethod, IntentResult
    from contracts.risk import AssessRequest, AssessResult, ReviewDecision, RiskDecision
    from contracts.search_attributes import RISK_LEVEL
    from contracts.workflow_names import PaymentUpdate
    from workflows import details, handlers
    from workflows.database import call_database_locally
    from workflows.policies import guards
    from workflows.policies.payment_status import Detail, after_intent, failed
    from workflows.policies.risk import (
        BLOCKED,
        LIMIT_EXCEEDED,
        REVIEW_EXPIRED,
        REVIEW_REJECTED,
        alerts_for,
        at_provider,
        review_wait,
    )

if TYPE_CHECKING:
    import asyncio
    from typing import Any

    from temporalio.common import SearchAttributeUpdate

    from contracts.payments import PaymentInput
    from contracts.providers import IntentCall

RISK_PATCH = "risk-assessment"
REVIEW_OPENED = "review.opened"
"""The timeline entry of a payment going under review; ``data.expires_at`` is when it lapses."""


@dataclass
class RiskState:
    """What the workflow remembers of risk between its steps."""

    reserved: bool = False
    """The payment holds a limit reservation, to give back if it ends unpaid."""
    limit_exceeded: bool = False
    authorized_at: datetime | None = None
    """When the authorization of a payment to review was made (its expiry counts from then)."""
    review_deadline: datetime | None = None
    """When the review lapses; set when the payment goes under review."""
    verdict: tuple[bool, ReviewDecision] | None = None
    """The operator's decision: approved or not, and by whom."""
    review_settled: bool = False


class PaymentRisk:
    """``PaymentWorkflow``'s risk steps (see the module's docstring)."""

    _risk: RiskState

    if TYPE_CHECKING:
        # What the mixin uses of ``PaymentWorkflow``, declared for the type checker only.
        _input: PaymentInput
        _view: PaymentView
        _money_lock: asyncio.Lock
        _local_first: bool

        @property
        def _is_checkout(self) -> bool: ...
        def _set_step(self, step: str) -> None: ...
        def _key(self, step: str) -> str: ...
        def _call(self, idempotency_key: str, amount: int | None = None) -> IntentCall: ...
        async def _provider(self, activity: Any, call: Any) -> Any: ...
        async def _transition(
            self, event_type: str, detail: Detail | None = None, refund: Any = None
        ) -> None: ...
        async def _apply_intent(
            self, intent: IntentResult, event_type: str, captured: int | None = None
        ) -> None: ...

    async def _assess_risk(self) -> None:
        """Score the payment and reserve its amount against the customer's limits, once the
        provider is known (a challenge means something else at each); before anything is
        recorded, so the payment's first entry already carries its risk."""
        terms = self._input.risk
        if terms is None or not (self._local_first or workflow.patched(RISK_PATCH)):
            return
        payment = self._input
        self._set_step("assessing risk")
        result: AssessResult = await call_database_locally(
            RiskActivities.assess_payment,
            AssessRequest(
                payment_id=payment.payment_id,
                account_id=payment.account_id,
                customer_id=payment.customer_id,
                amount=payment.amount,
                currency=payment.currency,
                started_at=payment.created_at,
                terms=terms,
            ),
        )
        risk = at_provider(result.risk, self._view.provider)
        self._view = replace(self._view, risk=risk)
        blocked = risk.decision is RiskDecision.BLOCK
        self._risk.limit_exceeded = result.limit_exceeded
        self._risk.reserved = terms.limits is not None and not blocked and not result.limit_exceeded
        for alert in alerts_for(self._view, risk):
            await call_database_locally(OversightActivities.raise_alert, alert)

    async def _refused_by_risk(self) -> bool:
        """A blocked payment, or one past its customer's limits, fails before any provider call."""
        risk = self._view.risk
        if risk is not None and risk.decision is RiskDecision.BLOCK:
            await self._fail_by_risk(BLOCKED, "risk.blocked")
            return True
        if self._risk.limit_exceeded:
            await self._fail_by_risk(LIMIT_EXCEEDED, "limit.exceeded")
            return True
        return False

    async def _fail_by_risk(self, failure: Failure, event_type: str) -> None:
        self._view = failed(self._view, failure)
        await self._transition(event_type)

    def _capture_at_provider(self) -> CaptureMethod:
        """A payment to review is only authorized, whatever its capture method."""
        return CaptureMethod.MANUAL if self._in_review_path else self._input.capture_method

    def _challenged(self) -> bool:
        risk = self._view.risk
        return risk is not None and risk.decision is RiskDecision.CHALLENGE

    @property
    def _in_review_path(self) -> bool:
        risk = self._view.risk
        return risk is not None and risk.decision is RiskDecision.REVIEW

    def _risk_attributes(self) -> list[SearchAttributeUpdate[str]]:
        """``RiskLevel`` for the Temporal UI, set with the status (no event of its own)."""
        risk = self._view.risk
        return [] if risk is None else [RISK_LEVEL.value_set(risk.level.value)]

    # ------------------------------------------------------------------ review

    def _open_review_if_due(self, event_type: str, detail: Detail) -> str:
        """A payment to review that the provider has just authorized goes ``under_review``
        in that very step (it is never ``requires_capture`` meanwhile); its timeline entry
        is ``review.opened``, with the moment the review lapses."""
        terms = self._input.risk
        if (
            terms is None
            or not self._in_review_path
            or self._risk.review_deadline is not None
            or self._view.status is not PaymentStatus.REQUIRES_CAPTURE
        ):
            return event_type
        wait = review_wait(
            timedelta(seconds=terms.review_timeout_seconds),
            self._input.timeouts.authorization_expiry,
        )
        self._risk.authorized_at = workflow.now()
        self._risk.review_deadline = self._risk.authorized_at + wait
        self._view = replace(self._view, status=PaymentStatus.UNDER_REVIEW)
        detail["expires_at"] = details.at(self._risk.review_deadline)
        return REVIEW_OPENED

    def _authorization_left(self) -> timedelta:
        """How long an authorization still holds: all of its expiry, but for one that waited
        under review first (approved, it then waits for its capture only what is left)."""
        expiry = self._input.timeouts.authorization_expiry
        if self._risk.authorized_at is None:
            return expiry
        return max(expiry - (workflow.now() - self._risk.authorized_at), timedelta(0))

    async def _hold_for_review(self) -> None:
        """Hold the authorization ``under_review`` until approved (captured when automatic,
        ``requires_capture`` when manual), rejected or expired (voided, ``failed``)."""
        deadline = self._risk.review_deadline
        if deadline is None or self._view.status is not PaymentStatus.UNDER_REVIEW:
            return
        self._set_step(f"under review until {details.at(deadline)}")
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: (
                    self._risk.verdict is not None
                    or self._view.status is not PaymentStatus.UNDER_REVIEW
                ),
                timeout=max(deadline - workflow.now(), timedelta(0)),
            )
        async with self._money_lock:
            if self._view.status is PaymentStatus.UNDER_REVIEW:
                await self._decide_review()
            self._risk.review_settled = True

    async def _decide_review(self) -> None:
        verdict = self._risk.verdict
        if verdict is not None and verdict[0]:
            await self._approve(verdict[1])
            return
        expired = verdict is None
        self._set_step("voiding the authorization of a rejected review")
        intent: IntentResult = await self._provider(
            PaymentActivities.cancel_intent, self._call(self._key("void_review"))
        )
        self._view, detail = after_intent(
            self._view, intent, captured=None, checkout=self._is_checkout
        )
        self._view = failed(
            replace(self._view, amount_capturable=0), REVIEW_EXPIRED if expired else REVIEW_REJECTED
        )
        await self._transition("review.expired" if expired else "review.rejected", detail)
        if verdict is None:
            await self._audit("review.expire", ActorType.SYSTEM, None, None)
        else:
            await self._audit_operator("review.reject", verdict[1])

    async def _approve(self, decision: ReviewDecision) -> None:
        if self._input.capture_method is CaptureMethod.AUTOMATIC:
            self._set_step("capturing an approved review")
            amount = self._view.amount_capturable
            intent: IntentResult = await self._provider(
                PaymentActivities.capture_intent,
                self._call(self._key("capture_review"), amount=amount),
            )
            await self._apply_intent(intent, "review.approved", captured=amount)
        else:
            self._view = replace(self._view, status=PaymentStatus.REQUIRES_CAPTURE)
            await self._transition("review.approved")
        await self._audit_operator("review.approve", decision)

    async def _audit_operator(self, action: str, decision: ReviewDecision) -> None:
        """Audit a decision sent from the Temporal UI. One taken through the API is audited by
        the API, with its reason: a free-text note stays out of the workflow's payloads."""
        if decision.actor_type == ActorType.OPERATOR:
            await self._audit(action, ActorType.OPERATOR, decision.actor_id, decision.reason)

    async def _audit(
        self,
        action: str,
        actor_type: ActorType,
        actor_id: str | None,
        reason: str | None,
    ) -> None:
        view = self._view
        await call_database_locally(
            OversightActivities.record_audit,
            AuditRecord(
                account_id=view.account_id,
                actor_type=actor_type,
                actor_id=actor_id,
                action=action,
                resource_id=view.id,
                outcome=200,
                details={
                    "amount": view.amount,
                    "currency": view.currency,
                    "status": view.status.value,
                    "reason": reason,
                },
            ),
        )

    @handlers.update(PaymentUpdate.APPROVE_REVIEW)
    async def approve_review(self, decision: ReviewDecision | None = None) -> PaymentView:
        """Approve a payment under review (the API, or an operator in the Temporal UI)."""
        return await self._review_decided(True, decision or ReviewDecision())

    @approve_review.validator
    def _validate_approve_review(self, decision: ReviewDecision | None = None) -> None:
        self._require_reviewable(True, decision)

    @handlers.update(PaymentUpdate.REJECT_REVIEW)
    async def reject_review(self, decision: ReviewDecision | None = None) -> PaymentView:
        """Reject a payment under review: its authorization is voided, it fails."""
        return await self._review_decided(False, decision or ReviewDecision())

    @reject_review.validator
    def _validate_reject_review(self, decision: ReviewDecision | None = None) -> None:
        self._require_reviewable(False, decision)

    def _require_reviewable(self, approve: bool, decision: ReviewDecision | None) -> None:
        if decision is not None and decision.actor_type not in (
            ActorType.OPERATOR,
            ActorType.API_KEY,
        ):
            raise guards.invalid_state("A review is decided by an operator or an API key.")
        if self._view.status is not PaymentStatus.UNDER_REVIEW:
            raise guards.invalid_state(f"The payment is {self._view.status}, not under review.")
        verdict = self._risk.verdict
        if verdict is not None and verdict[0] is not approve:
            taken = "approved" if verdict[0] else "rejected"
            raise guards.invalid_state(f"The review was already {taken}.")

    async def _review_decided(self, approve: bool, decision: ReviewDecision) -> PaymentView:
        self._require_reviewable(approve, decision)
        if self._risk.verdict is None:
            self._risk.verdict = (approve, decision)
        await workflow.wait_condition(lambda: self._risk.review_settled)
        return self._view

    async def _release_unpaid_limit(self) -> None:
        """A payment that ends failed or canceled gives its reservation back; a succeeded one
        keeps it, refunded or not (README "Risk, limits and reviews")."""
        if self._risk.reserved and self._view.status in (
            PaymentStatus.FAILED,
            PaymentStatus.CANCELED,
        ):
            await call_database_locally(RiskActivities.release_limit, self._view.id)
            self._risk.reserved = False
