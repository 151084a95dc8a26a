"""Long waits of a payment — 3-D Secure timeout, authorization expiry, the refund window — on
Temporal's time-skipping test server: days pass in milliseconds, providers and database are real."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from stripe import StripeClient
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from db import repository
from settings import Settings
from tests.conftest import Stack
from tests.support.direct import saved_card_payment
from tests.support.flows import CARD_3DS, CARD_OK
from tests.support.paths import TEMPORAL_TEST_SERVER
from worker import build_worker
from workflows.payment import PaymentWorkflow
from workflows.types import (
    SEARCH_ATTRIBUTES,
    CaptureMethod,
    PaymentInput,
    PaymentStatus,
    PaymentTimeouts,
    PaymentView,
    RefundRequest,
    RefundView,
    SettleRequest,
)

pytestmark = pytest.mark.timeskip

DAY = 24 * 3600


@dataclass(frozen=True)
class TimeSkipping:
    client: Client
    settings: Settings


@pytest.fixture(scope="module")
async def timeskip(stack: Stack) -> AsyncIterator[TimeSkipping]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEMPORAL_TEST_SERVER)
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type)
                for key in SEARCH_ATTRIBUTES
            },
        )
    )
    settings = stack.settings.model_copy(update={"task_queue": f"timeskip-{uuid.uuid4().hex[:8]}"})
    try:
        async with build_worker(env.client, settings, stack.sessions):
            yield TimeSkipping(client=env.client, settings=settings)
    finally:
        await env.shutdown()


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
        return [e.type for e in await repository.list_payment_events(session, payment_id)]


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
