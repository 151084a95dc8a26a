"""A payment provider that answers at once, for ``bench.payments`` only.

It implements ``activities.providers.base.Provider`` in memory with no I/O, so a benchmark run
through the real API, workflows and worker measures Durapay's own cost: whatever time is left is
orchestration (Temporal round trips, database writes, serialisation), not a provider's latency.
It follows the protocol's contract where the workflow can tell (a confirm reports the object's
current state when it no longer awaits confirmation; a refund is made once per ``refund_id``), and
approves every card.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from contracts.providers import (
    AttachResult,
    CaptureMethod,
    CardDetails,
    CreateIntentRequest,
    IntentResult,
    IntentStatus,
    RefundResult,
    RefundStatus,
)


@dataclass(frozen=True)
class _Intent:
    result: IntentResult
    capture_method: CaptureMethod


class InstantProvider:
    """One in-memory provider; state lives as long as the worker process."""

    def __init__(self) -> None:
        self._intents: dict[str, _Intent] = {}
        self._refunds: dict[str, RefundResult] = {}

    async def create_intent(
        self, request: CreateIntentRequest, idempotency_key: str
    ) -> IntentResult:
        """Keyed by the payment, so a retried create finds the object it already made."""
        reference = f"pi_instant_{request.payment_id}"
        intent = self._intents.setdefault(
            reference,
            _Intent(
                IntentResult(reference, IntentStatus.REQUIRES_CONFIRMATION, request.amount),
                request.capture_method,
            ),
        )
        return intent.result

    async def confirm_intent(
        self, reference: str, idempotency_key: str, off_session: bool
    ) -> IntentResult:
        intent = self._intents[reference]
        if intent.result.status is not IntentStatus.REQUIRES_CONFIRMATION:
            return intent.result
        amount = intent.result.amount
        confirmed = (
            replace(intent.result, status=IntentStatus.SUCCEEDED)
            if intent.capture_method is CaptureMethod.AUTOMATIC
            else replace(
                intent.result, status=IntentStatus.REQUIRES_CAPTURE, amount_capturable=amount
            )
        )
        self._intents[reference] = replace(intent, result=confirmed)
        return confirmed

    async def retrieve_intent(self, reference: str) -> IntentResult:
        return self._intents[reference].result

    async def capture_intent(
        self, reference: str, amount: int, idempotency_key: str
    ) -> IntentResult:
        intent = self._intents[reference]
        if intent.result.status is not IntentStatus.REQUIRES_CAPTURE:
            return intent.result
        captured = replace(intent.result, status=IntentStatus.SUCCEEDED, amount_capturable=0)
        self._intents[reference] = replace(intent, result=captured)
        return captured

    async def cancel_intent(self, reference: str, idempotency_key: str) -> IntentResult:
        intent = self._intents[reference]
        if intent.result.status is IntentStatus.SUCCEEDED:
            return intent.result
        canceled = replace(intent.result, status=IntentStatus.CANCELED, amount_capturable=0)
        self._intents[reference] = replace(intent, result=canceled)
        return canceled

    async def refund(
        self, reference: str, amount: int, idempotency_key: str, refund_id: str
    ) -> RefundResult:
        return self._refunds.setdefault(
            refund_id, RefundResult(f"re_instant_{refund_id}", RefundStatus.SUCCEEDED, amount)
        )

    async def ensure_customer(
        self, customer_id: str, email: str, name: str | None, idempotency_key: str
    ) -> str:
        return f"cus_instant_{customer_id}"

    async def attach_payment_method(
        self, provider_customer_ref: str, token: str, idempotency_key: str
    ) -> AttachResult:
        return AttachResult(
            details=CardDetails(
                type="card", brand="visa", last4="4242", exp_month=12, exp_year=2034
            )
        )
