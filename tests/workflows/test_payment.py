"""PaymentWorkflow with a fake provider on the time-skipping server: for each way a card can
answer, what the merchant sees (status, amounts, failure) and what the provider is asked, with
idempotency keys ``<payment id>:<step>``. Waits measured in days pass in milliseconds."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from contracts.errors import ErrorType
from contracts.payments import (
    CaptureRequest,
    NextAction,
    PaymentInput,
    PaymentState,
    PaymentStatus,
    PaymentTimeouts,
    PaymentView,
    ProviderEvent,
    RefundRequest,
    RefundView,
    SettleRequest,
    SettleResult,
)
from contracts.providers import CaptureMethod, IntentCall, IntentResult, ProviderName, RefundStatus
from contracts.workflow_names import STATE_QUERY, PaymentSignal, PaymentUpdate, WorkflowName
from tests.support.polling import eventually
from tests.workflows.fakes import (
    CARD_3DS,
    CARD_OK,
    FakeProvider,
    FakeRecords,
    ProviderCall,
    declining,
    fake_worker,
)

pytestmark = pytest.mark.timeskip

DAY = 24 * 3600
TIMEOUTS = PaymentTimeouts(
    action_seconds=3600,
    authorization_expiry_seconds=7 * DAY,
    refund_window_seconds=180 * DAY,
    provider_call_seconds=10,
)


def card_payment(
    card: str,
    capture_method: CaptureMethod = CaptureMethod.AUTOMATIC,
    timeouts: PaymentTimeouts = TIMEOUTS,
) -> PaymentInput:
    """A 25.00 EUR payment with a saved card, as the API would start it."""
    return PaymentInput(
        payment_id=f"pay_{uuid.uuid4().hex[:16]}",
        account_id="acct_test",
        request_hash="request-hash",
        amount=2500,
        currency="EUR",
        customer_id="cus_test",
        provider=ProviderName.STRIPE,
        capture_method=capture_method,
        timeouts=timeouts,
        created_at=datetime.now(UTC),
        payment_method_id="pm_saved",
        provider_customer_ref="cus_fake",
        payment_method_ref=card,
    )


async def start(
    env: WorkflowEnvironment, task_queue: str, payment: PaymentInput
) -> WorkflowHandle[Any, PaymentView]:
    return await env.client.start_workflow(
        WorkflowName.PAYMENT,
        payment,
        id=payment.payment_id,
        task_queue=task_queue,
        result_type=PaymentView,
    )


async def settled(handle: WorkflowHandle[Any, PaymentView], payment: PaymentInput) -> PaymentView:
    """What ``POST /v1/payments`` answers: the payment once it has left ``processing``."""
    result: SettleResult = await handle.execute_update(
        PaymentUpdate.SETTLE, SettleRequest(payment.request_hash), result_type=SettleResult
    )
    return result.payment


async def state(handle: WorkflowHandle[Any, PaymentView]) -> PaymentState:
    seen: PaymentState = await handle.query(STATE_QUERY, result_type=PaymentState)
    return seen


async def open_for(handle: WorkflowHandle[Any, PaymentView]) -> timedelta:
    """How long, in server time, the workflow ran from start to close."""
    described = await handle.describe()
    assert described.start_time is not None
    assert described.close_time is not None
    return described.close_time - described.start_time


async def test_a_card_payment_succeeds_with_one_create_and_one_confirm(
    env: WorkflowEnvironment, task_queue: str, provider: FakeProvider, records: FakeRecords
) -> None:
    payment = card_payment(CARD_OK)
    key = payment.payment_id
    async with fake_worker(env, task_queue, provider, records):
        handle = await start(env, task_queue, payment)
        answer = await settled(handle, payment)
        final = await handle.result()

    assert answer.status is PaymentStatus.SUCCEEDED
    assert (answer.amount, answer.amount_captured, answer.amount_capturable) == (2500, 2500, 0)
    assert (answer.failure, answer.next_action) == (None, None)
    assert provider.calls == [
        ProviderCall("create_intent", f"{key}:create", amount=2500),
        ProviderCall("confirm_intent", f"{key}:confirm"),
    ]
    assert records.event_types(key) == [
        "payment.created",
        "provider.intent_created",
        "provider.confirmed",
    ]
    assert final == answer
    assert await open_for(handle) >= TIMEOUTS.refund_window


@pytest.mark.parametrize(
    ("decline_code", "retryable"), [("insufficient_funds", True), ("stolen_card", False)]
)
async def test_a_declined_card_fails_the_payment_with_the_decline_code(
    env: WorkflowEnvironment,
    task_queue: str,
    provider: FakeProvider,
    records: FakeRecords,
    decline_code: str,
    retryable: bool,
) -> None:
    payment = card_payment(declining(decline_code))
    async with fake_worker(env, task_queue, provider, records):
        handle = await start(env, task_queue, payment)
        answer = await settled(handle, payment)
        final = await handle.result()

    assert answer.status is PaymentStatus.FAILED
    assert answer.failure is not None
    failure = answer.failure
    assert (failure.code, failure.decline_code, failure.retryable) == (
        "card_declined",
        decline_code,
        retryable,
    )
    assert answer.amount_captured == 0
    assert [call.activity for call in provider.calls] == ["create_intent", "confirm_intent"]
    assert records.timeline(payment.payment_id)[-1].detail["decline_code"] == decline_code
    assert final == answer
    assert await open_for(handle) < timedelta(minutes=1), "a failed payment has no refund window"


async def test_a_manual_capture_waits_authorized_until_captured(
    env: WorkflowEnvironment, task_queue: str, provider: FakeProvider, records: FakeRecords
) -> None:
    payment = card_payment(CARD_OK, CaptureMethod.MANUAL)
    async with fake_worker(env, task_queue, provider, records):
        handle = await start(env, task_queue, payment)
        authorized = await settled(handle, payment)
        await env.sleep(TIMEOUTS.authorization_expiry - timedelta(days=1))
        waiting = await state(handle)
        captured = await handle.execute_update(
            PaymentUpdate.CAPTURE,
            CaptureRequest(key="capture-1", request_hash="capture-hash", amount=1500),
            result_type=PaymentView,
        )
        final = await handle.result()

    assert authorized.status is PaymentStatus.REQUIRES_CAPTURE
    assert (authorized.amount_capturable, authorized.amount_captured) == (2500, 0)
    assert waiting.payment.status is PaymentStatus.REQUIRES_CAPTURE
    assert waiting.step.startswith("authorized; waiting for capture until")
    assert captured.status is PaymentStatus.SUCCEEDED
    assert (captured.amount_captured, captured.amount_capturable) == (1500, 0)
    assert provider.called("capture_intent") == [
        ProviderCall("capture_intent", f"{payment.payment_id}:capture", amount=1500)
    ]
    assert final == captured


async def test_a_capture_beyond_the_authorization_is_refused_and_changes_nothing(
    env: WorkflowEnvironment, task_queue: str, provider: FakeProvider, records: FakeRecords
) -> None:
    payment = card_payment(CARD_OK, CaptureMethod.MANUAL)
    async with fake_worker(env, task_queue, provider, records):
        handle = await start(env, task_queue, payment)
        authorized = await settled(handle, payment)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                PaymentUpdate.CAPTURE,
                CaptureRequest(key="capture-1", request_hash="capture-hash", amount=2501),
                result_type=PaymentView,
            )
        after = await state(handle)

    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == ErrorType.AMOUNT_EXCEEDS_CAPTURABLE
    assert after.payment == authorized
    assert provider.called("capture_intent") == []


async def test_an_authorization_never_captured_is_voided_when_it_expires(
    env: WorkflowEnvironment, task_queue: str, provider: FakeProvider, records: FakeRecords
) -> None:
    payment = card_payment(CARD_OK, CaptureMethod.MANUAL)
    async with fake_worker(env, task_queue, provider, records):
        handle = await start(env, task_queue, payment)
        authorized = await settled(handle, payment)
        final = await handle.result()

    assert final.status is PaymentStatus.CANCELED
    assert (final.amount_capturable, final.amount_captured) == (0, 0)
    assert records.event_types(payment.payment_id)[-1] == "authorization.expired"
    assert provider.called("cancel_intent") == [
        ProviderCall("cancel_intent", f"{payment.payment_id}:void_expired")
    ]
    waited = final.updated_at - authorized.updated_at
    assert (
        TIMEOUTS.authorization_expiry
        <= waited
        < TIMEOUTS.authorization_expiry + timedelta(minutes=1)
    )


@pytest.mark.parametrize("action_seconds", [15 * 60, 2 * DAY])
async def test_3ds_left_unanswered_is_canceled_after_the_action_timeout(
    env: WorkflowEnvironment,
    task_queue: str,
    provider: FakeProvider,
    records: FakeRecords,
    action_seconds: int,
) -> None:
    payment = card_payment(CARD_3DS, timeouts=replace(TIMEOUTS, action_seconds=action_seconds))
    async with fake_worker(env, task_queue, provider, records):
        handle = await start(env, task_queue, payment)
        pending = await settled(handle, payment)
        final = await handle.result()

    assert pending.status is PaymentStatus.REQUIRES_ACTION
    assert pending.next_action == NextAction(type="stripe_sdk")
    assert final.status is PaymentStatus.CANCELED
    assert (final.amount_captured, final.next_action) == (0, None)
    assert records.event_types(payment.payment_id)[-2:] == ["provider.polled", "action.timed_out"]
    assert [call.activity for call in provider.calls] == [
        "create_intent",
        "confirm_intent",
        "retrieve_intent",
        "cancel_intent",
    ]
    assert provider.calls[-1].idempotency_key == f"{payment.payment_id}:cancel_action"
    timeout = timedelta(seconds=action_seconds)
    assert timeout <= final.updated_at - pending.updated_at < timeout + timedelta(minutes=1)


async def test_3ds_completed_by_the_customer_succeeds_on_the_provider_webhook(
    env: WorkflowEnvironment, task_queue: str, provider: FakeProvider, records: FakeRecords
) -> None:
    payment = card_payment(CARD_3DS)
    async with fake_worker(env, task_queue, provider, records):
        handle = await start(env, task_queue, payment)
        pending = await settled(handle, payment)
        reference = pending.provider_reference
        assert reference is not None
        provider.authenticate(reference)
        await handle.signal(
            PaymentSignal.PROVIDER_EVENT,
            ProviderEvent(ProviderName.STRIPE, "evt_1", "payment_intent.succeeded", reference),
        )
        after = await eventually(
            lambda: state(handle),
            lambda seen: seen.payment.status is not PaymentStatus.REQUIRES_ACTION,
        )

    assert after.payment.status is PaymentStatus.SUCCEEDED
    assert after.payment.amount_captured == 2500
    assert records.event_types(payment.payment_id)[-1] == "provider.webhook"
    assert provider.called("cancel_intent") == []


class ConfirmOnSecondTry(FakeProvider):
    """A provider down for the first confirm, whose second one answers once ``released``."""

    def __init__(self) -> None:
        super().__init__()
        self.confirms = 0
        self.released = asyncio.Event()

    @activity.defn(name="confirm_intent")
    async def confirm_intent(self, call: IntentCall) -> IntentResult:
        self.confirms += 1
        if self.confirms == 1:
            raise ApplicationError("Stripe is down", type=ErrorType.PROVIDER_UNAVAILABLE)
        await self.released.wait()
        return await FakeProvider.confirm_intent(self, call)


async def test_a_refund_sent_while_the_charge_is_in_flight_waits_for_it(
    env: WorkflowEnvironment, task_queue: str, records: FakeRecords
) -> None:
    """The database can show a charge's outcome before the workflow holds it again (its first
    task re-run after a crash), so a refund that comes while the payment is ``processing``
    waits for the charge instead of being refused."""
    provider = ConfirmOnSecondTry()
    payment = card_payment(CARD_OK)
    async with fake_worker(env, task_queue, provider, records):
        handle = await start(env, task_queue, payment)
        await eventually(lambda: state(handle), lambda _: provider.confirms == 2)
        refunding = asyncio.create_task(
            handle.execute_update(
                PaymentUpdate.REFUND,
                RefundRequest(refund_id="re_in_flight", request_hash="h", amount=700),
                result_type=RefundView,
            )
        )
        await asyncio.sleep(0.2)
        provider.released.set()
        refund = await refunding
        seen = await state(handle)

    assert refund.status is RefundStatus.SUCCEEDED
    assert (seen.payment.status, seen.payment.amount_refunded) == (PaymentStatus.SUCCEEDED, 700)
