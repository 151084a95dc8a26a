"""Risk's activities: score a payment and reserve its amount in one step; give a reservation
back when the payment fails or is canceled.

Both run as local activities (one marker each in the payment's history, no round trip through
the server). Scoring reads the customer here, so the email domain that rules may match stays in
the worker and never travels in a workflow payload.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from contracts.risk import AssessRequest, AssessResult, RiskDecision, ScoredPayment
from contracts.risk_scoring import assess
from db.repositories import risk as risk_repo


class RiskActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name="assess_payment")
    async def assess_payment(self, request: AssessRequest) -> AssessResult:
        """Score the payment on its customer's history at its start; unless blocked, reserve
        its amount against the customer's day and month limits (atomically, see
        ``db/repositories/risk.py``). A retry finds its own reservation again.

        One session for both: the reads come before the transaction's first write, so SQLite
        still takes its write lock at the reservation's counter row, and PostgreSQL (read
        committed) still sums what a concurrent reservation committed before it."""
        async with self._sessions() as session, session.begin():
            assessed = await risk_repo.assessed_customer(
                session,
                request.customer_id,
                request.currency,
                request.started_at,
                request.payment_id,
            )
            if assessed is None:
                raise RuntimeError(f"customer {request.customer_id} of a started payment is gone")
            email = assessed.email or ""
            scored = ScoredPayment(
                amount=request.amount,
                currency=request.currency,
                customer_id=request.customer_id,
                email_domain=email.rpartition("@")[2] or None,
            )
            terms = request.terms
            risk = assess(scored, assessed.history, terms.rules, terms.large_amount)
            if risk.decision is RiskDecision.BLOCK or terms.limits is None:
                return AssessResult(risk=risk)
            reserved = await risk_repo.reserve(
                session,
                payment_id=request.payment_id,
                customer_id=request.customer_id,
                amount=request.amount,
                limits=terms.limits,
                at=request.started_at,
                now=datetime.now(UTC),
            )
        return AssessResult(risk=risk, limit_exceeded=not reserved)

    @activity.defn(name="release_limit")
    async def release_limit(self, payment_id: str) -> bool:
        """The payment failed or was canceled: its amount no longer counts against the limits."""
        async with self._sessions() as session, session.begin():
            return await risk_repo.release(session, payment_id, datetime.now(UTC))
