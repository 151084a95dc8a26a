"""Captures and cancels hold the payment's lock, so they are repeated only up to the outage limit
and then resolved by reading the provider object back, never repeated for ever (fake provider,
time-skipping server)."""

from __future__ import annotations

import pytest
from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from contracts.errors import ErrorType
from contracts.payments import CancelRequest, CaptureRequest, PaymentStatus, PaymentTimeouts
from contracts.providers import CaptureMethod, IntentCall, IntentResult
from contracts.workflow_names import PaymentUpdate
from tests.workflows.fakes import CARD_OK, FakeProvider, FakeRecords, ProviderCall, fake_worker
from tests.workflows.test_payment import card_payment, settled, start, state

pytestmark = pytest.mark.timeskip

OUTAGE = PaymentTimeouts(
    action_seconds=3600,
    authorization_expiry_seconds=7 * 24 * 3600,
    refund_window_seconds=3600,
    provider_call_seconds=10,
    provider_outage_seconds=4,
)


class DownForCapturesAndCancels(FakeProvider):
    """Answers creates, confirms and reads; every capture and cancel fails as an outage would."""

    @activity.defn(name="capture_intent")
    async def capture_intent(self, call: IntentCall) -> IntentResult:
        self.calls.append(ProviderCall("capture_intent", call.idempotency_key, call.amount))
        raise ApplicationError("Stripe APIConnectionError", type=ErrorType.PROVIDER_UNAVAILABLE)

    @activity.defn(name="cancel_intent")
    async def cancel_intent(self, call: IntentCall) -> IntentResult:
        self.calls.append(ProviderCall("cancel_intent", call.idempotency_key))
        raise ApplicationError("Stripe APIConnectionError", type=ErrorType.PROVIDER_UNAVAILABLE)


@pytest.fixture
def provider() -> FakeProvider:
    return DownForCapturesAndCancels()


@pytest.mark.parametrize(
    ("update", "request_"),
    [
        (PaymentUpdate.CAPTURE, CaptureRequest(key="k", request_hash="h", amount=1000)),
        (PaymentUpdate.CANCEL, CancelRequest(key="k", request_hash="h")),
    ],
)
async def test_an_unanswered_capture_or_cancel_gives_up_and_reads_the_provider_back(
    env: WorkflowEnvironment,
    task_queue: str,
    provider: FakeProvider,
    records: FakeRecords,
    update: PaymentUpdate,
    request_: CaptureRequest | CancelRequest,
) -> None:
    payment = card_payment(CARD_OK, CaptureMethod.MANUAL, timeouts=OUTAGE)
    async with fake_worker(env, task_queue, provider, records):
        handle = await start(env, task_queue, payment)
        await settled(handle, payment)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(update, request_)
        after = await state(handle)

    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == ErrorType.PROVIDER_UNAVAILABLE
    assert "did not happen" in refused.value.cause.message
    assert after.payment.status is PaymentStatus.REQUIRES_CAPTURE
    assert after.payment.amount_captured == 0
    tried = provider.called(f"{update.value}_intent")
    assert len(tried) >= 2
    assert {call.idempotency_key for call in tried} == {f"{payment.payment_id}:{update.value}"}
    assert provider.called("retrieve_intent")
