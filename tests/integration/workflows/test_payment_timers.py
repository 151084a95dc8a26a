"""Long waits of a payment — 3-D Secure timeout, authorization expiry, the refund window — on
Temporal's time-skipping test server: days pass in milliseconds, providers and database are real."""

from __future__ import annotations

import httpx
import pytest
from stripe import StripeClient
from temporalio.client import WorkflowExecutionStatus

from contracts.payments import (
    PaymentInput,
    PaymentStatus,
    PaymentTimeouts,
    PaymentView,
    RefundRequest,
    RefundView,
    SettleRequest,
)
from contracts.providers import CaptureMethod
from db.repositories import payments as payments_repo
from tests.support.direct import saved_card_payment
from tests.support.flows import CARD_3DS, CARD_OK
from tests.support.stack import Stack
from tests.support.timeskip import TimeSkipping
from workflows.payment import PaymentWorkflow

pytestmark = pytest.mark.timeskip

DAY = 24 * 3600


async def payment_input(
    api: httpx.AsyncClient, stack: Stack, card: str, capture_method: CaptureMethod
) -> PaymentInput:
    timeouts = PaymentTimeouts(
        action_seconds=3600,
        authorization_expiry_seconds=7 * DAY,
        refund_window_seconds=180 * DAY,
        provider_call_seconds=10,
    )
    return await saved_card_payment(
        api,
        stack.sessions,
        stack.stripe_url,
        card,
        timeouts=timeouts,
        capture_method=capture_method,
    )


async def event_types(stack: Stack, payment_id: str) -> list[str]:
    async with stack.sessions() as session:
        return [e.type for e in await payments_repo.list_payment_events(session, payment_id)]


async def test_3ds_never_completed_is_canceled_after_the_action_timeout(
    api: httpx.AsyncClient, stack: Stack, timeskip: TimeSkipping
) -> None:
    payment = await payment_input(api, stack, CARD_3DS, CaptureMethod.AUTOMATIC)

    handle = await timeskip.client.start_workflow(
        PaymentWorkflow.run, payment, id=payment.payment_id, task_queue=timeskip.settings.task_queue
    )
    final: PaymentView = await handle.result()

    assert final.status is PaymentStatus.CANCELED
    assert final.amount_captured == 0
    types = await event_types(stack, payment.payment_id)
    assert types[-2:] == ["provider.polled", "action.timed_out"]
    stripe = StripeClient("sk_test_x", base_addresses={"api": stack.stripe_url})
    assert stripe.v1.payment_intents.retrieve(final.provider_reference or "").status == "canceled"


async def test_uncaptured_authorization_is_voided_when_it_expires(
    api: httpx.AsyncClient, stack: Stack, timeskip: TimeSkipping
) -> None:
    payment = await payment_input(api, stack, CARD_OK, CaptureMethod.MANUAL)

    handle = await timeskip.client.start_workflow(
        PaymentWorkflow.run, payment, id=payment.payment_id, task_queue=timeskip.settings.task_queue
    )
    final: PaymentView = await handle.result()

    assert final.status is PaymentStatus.CANCELED
    assert (final.amount_capturable, final.amount_captured) == (0, 0)
    assert (await event_types(stack, payment.payment_id))[-1] == "authorization.expired"
    stripe = StripeClient("sk_test_x", base_addresses={"api": stack.stripe_url})
    assert stripe.v1.payment_intents.retrieve(final.provider_reference or "").status == "canceled"


async def test_refund_window_closes_the_workflow(
    api: httpx.AsyncClient, stack: Stack, timeskip: TimeSkipping
) -> None:
    payment = await payment_input(api, stack, CARD_OK, CaptureMethod.AUTOMATIC)
    handle = await timeskip.client.start_workflow(
        PaymentWorkflow.run, payment, id=payment.payment_id, task_queue=timeskip.settings.task_queue
    )
    settled = await handle.execute_update(
        PaymentWorkflow.settle, SettleRequest(payment.request_hash)
    )
    assert settled.payment.status is PaymentStatus.SUCCEEDED
    refund: RefundView = await handle.execute_update(
        PaymentWorkflow.refund,
        RefundRequest(refund_id="re_ts_1", request_hash="h", amount=500),
        id="refund:re_ts_1",
    )
    assert refund.amount == 500

    final: PaymentView = await handle.result()

    assert final.status is PaymentStatus.SUCCEEDED
    assert (final.amount_captured, final.amount_refunded) == (2500, 500)
    description = await handle.describe()
    assert description.status is WorkflowExecutionStatus.COMPLETED
    assert description.close_time is not None and description.start_time is not None
    assert (description.close_time - description.start_time).days >= 180
