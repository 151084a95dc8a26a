"""Provider faults on the money path — errors, resets, and responses lost after the provider acted
— never charge or refund twice. The worker talks to localstripe through the fault proxy."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from stripe import StripeClient
from temporalio.client import WorkflowHandle

from activities.providers.stripe import StripeProvider
from contracts.payments import (
    PaymentInput,
    PaymentState,
    PaymentStatus,
    PaymentTimeouts,
    RefundRequest,
    RefundView,
    SettleRequest,
    SettleResult,
)
from contracts.providers import ProviderName, RefundStatus
from sandbox.faults.proxy import Fault, FaultProxy
from settings import Settings
from tests.support.direct import saved_card_payment
from tests.support.flows import CARD_OK
from tests.support.localstripe import intent_statuses
from tests.support.net import free_port
from tests.support.stack import Stack
from worker import build_worker

CREATE = r"/v1/payment_intents"
CONFIRM = r"/v1/payment_intents/[^/]+/confirm"
REFUNDS = r"/v1/refunds"


@dataclass(frozen=True)
class Faulty:
    proxy: FaultProxy
    settings: Settings


async def faulty_worker(stack: Stack, replay_idempotent: bool) -> AsyncIterator[Faulty]:
    proxy = FaultProxy(stack.stripe_url, replay_idempotent=replay_idempotent)
    await proxy.start(free_port())
    settings = stack.settings.model_copy(
        update={
            "task_queue": f"faults-{uuid.uuid4().hex[:8]}",
            # These tests count requests reaching the provider: no circuit may stand in for one.
            "circuit_failure_threshold": 1000,
        }
    )
    providers = {ProviderName.STRIPE: StripeProvider("sk_test_faults", proxy.url)}
    try:
        async with build_worker(stack.client, settings, stack.sessions, providers=providers):
            yield Faulty(proxy=proxy, settings=settings)
    finally:
        await proxy.stop()


@pytest.fixture
async def localstripe_like(stack: Stack) -> AsyncIterator[Faulty]:
    """localstripe's own semantics: a repeated Idempotency-Key creates a second object."""
    async for faulty in faulty_worker(stack, replay_idempotent=False):
        yield faulty


@pytest.fixture
async def stripe_like(stack: Stack) -> AsyncIterator[Faulty]:
    """Real Stripe's semantics: a repeated Idempotency-Key replays the first response."""
    async for faulty in faulty_worker(stack, replay_idempotent=True):
        yield faulty


async def settle(
    api: httpx.AsyncClient, stack: Stack, faulty: Faulty
) -> tuple[PaymentInput, SettleResult, WorkflowHandle[object, object]]:
    payment = await saved_card_payment(
        api, stack.sessions, stack.stripe_url, CARD_OK, timeouts=PaymentTimeouts(60, 60, 600, 5)
    )
    handle: WorkflowHandle[object, object] = await stack.client.start_workflow(
        "PaymentWorkflow", payment, id=payment.payment_id, task_queue=faulty.settings.task_queue
    )
    result = await handle.execute_update(
        "settle", SettleRequest(payment.request_hash), result_type=SettleResult
    )
    return payment, result, handle


def confirms_forwarded(proxy: FaultProxy) -> int:
    return sum(1 for method, path in proxy.forwarded if path.endswith("/confirm"))


async def test_lost_confirm_response_charges_once(
    api: httpx.AsyncClient, stack: Stack, localstripe_like: Faulty
) -> None:
    localstripe_like.proxy.add(Fault.DROP_RESPONSE, "POST", CONFIRM, times=1)

    payment, result, _ = await settle(api, stack, localstripe_like)

    assert result.payment.status is PaymentStatus.SUCCEEDED
    assert intent_statuses(stack.stripe_url, payment.payment_id) == ["succeeded"]
    assert confirms_forwarded(localstripe_like.proxy) == 1


@pytest.mark.parametrize(
    ("fault", "path", "status"),
    [
        (Fault.STATUS, CREATE, 503),
        (Fault.STATUS, CONFIRM, 429),
        (Fault.RESET, CREATE, 0),
        (Fault.RESET, CONFIRM, 0),
    ],
)
async def test_transient_faults_are_retried_to_one_charge(
    api: httpx.AsyncClient,
    stack: Stack,
    localstripe_like: Faulty,
    fault: Fault,
    path: str,
    status: int,
) -> None:
    rule = localstripe_like.proxy.add(fault, "POST", path, times=2, status=status or 503)

    payment, result, _ = await settle(api, stack, localstripe_like)

    assert rule.hits == 2
    assert result.payment.status is PaymentStatus.SUCCEEDED
    assert intent_statuses(stack.stripe_url, payment.payment_id) == ["succeeded"]


async def test_a_rate_limited_confirm_is_retried_when_stripe_says(
    api: httpx.AsyncClient, stack: Stack, localstripe_like: Faulty
) -> None:
    """Without its ``Retry-After`` the retry would follow the policy's first interval (1 s)."""
    proxy = localstripe_like.proxy
    limited = proxy.add(
        Fault.STATUS, "POST", CONFIRM, times=1, status=429, headers={"Retry-After": "4"}
    )
    retried = proxy.add(Fault.DELAY, "POST", CONFIRM, times=1, seconds=0)

    async def seconds_to_the_retry() -> float:
        await limited.matched.wait()
        refused_at = time.monotonic()
        await retried.matched.wait()
        return time.monotonic() - refused_at

    waited, (payment, result, _) = await asyncio.gather(
        seconds_to_the_retry(), settle(api, stack, localstripe_like)
    )

    assert waited >= 3.9
    assert result.payment.status is PaymentStatus.SUCCEEDED
    assert intent_statuses(stack.stripe_url, payment.payment_id) == ["succeeded"]


async def test_an_idempotency_key_still_in_use_at_stripe_is_retried(
    api: httpx.AsyncClient, stack: Stack, localstripe_like: Faulty
) -> None:
    """Real Stripe answers 409 to a retry that overlaps the first attempt under its key, with
    nothing saved for it yet: it must be retried, never taken as a refusal."""
    in_use = localstripe_like.proxy.add(
        Fault.STATUS,
        "POST",
        CONFIRM,
        times=1,
        status=409,
        body={
            "error": {
                "type": "invalid_request_error",
                "code": "idempotency_key_in_use",
                "message": "There is currently another in-progress request using this key.",
            }
        },
    )

    payment, result, _ = await settle(api, stack, localstripe_like)

    assert in_use.hits == 1
    assert result.payment.status is PaymentStatus.SUCCEEDED
    assert intent_statuses(stack.stripe_url, payment.payment_id) == ["succeeded"]


async def test_lost_create_response_leaves_at_most_an_unconfirmed_intent(
    api: httpx.AsyncClient, stack: Stack, localstripe_like: Faulty
) -> None:
    """localstripe creates a second intent for the retried create; only the recorded one is
    ever confirmed, so money moves once."""
    localstripe_like.proxy.add(Fault.DROP_RESPONSE, "POST", CREATE, times=1)

    payment, result, _ = await settle(api, stack, localstripe_like)

    assert result.payment.status is PaymentStatus.SUCCEEDED
    statuses = intent_statuses(stack.stripe_url, payment.payment_id)
    assert sorted(statuses) == ["requires_confirmation", "succeeded"]


async def test_lost_create_response_with_stripe_idempotency_makes_one_intent(
    api: httpx.AsyncClient, stack: Stack, stripe_like: Faulty
) -> None:
    stripe_like.proxy.add(Fault.DROP_RESPONSE, "POST", CREATE, times=1)

    payment, result, _ = await settle(api, stack, stripe_like)

    assert result.payment.status is PaymentStatus.SUCCEEDED
    assert intent_statuses(stack.stripe_url, payment.payment_id) == ["succeeded"]


async def test_lost_refund_response_refunds_once(
    api: httpx.AsyncClient, stack: Stack, localstripe_like: Faulty
) -> None:
    _, result, handle = await settle(api, stack, localstripe_like)
    assert result.payment.status is PaymentStatus.SUCCEEDED
    localstripe_like.proxy.add(Fault.DROP_RESPONSE, "POST", REFUNDS, times=1)

    refund = await handle.execute_update(
        "refund",
        RefundRequest(refund_id="re_fault_1", request_hash="r", amount=700),
        id="re_fault_1",
        result_type=RefundView,
    )

    assert (refund.status, refund.amount) == (RefundStatus.SUCCEEDED, 700)
    stripe = StripeClient("sk_test_x", base_addresses={"api": stack.stripe_url})
    refunds = stripe.v1.refunds.list({"limit": 100}).data
    mine = [r for r in refunds if r.to_dict().get("payment_intent") == payment_reference(result)]
    assert [r.amount for r in mine] == [700]


def payment_reference(result: SettleResult) -> str:
    assert result.payment.provider_reference is not None
    return result.payment.provider_reference


async def test_a_confirm_lost_past_the_outage_limit_is_never_reported_failed(
    api: httpx.AsyncClient, stack: Stack, localstripe_like: Faulty
) -> None:
    """Stripe confirms, the answer is lost, and Stripe then stays silent past the outage limit.
    The charge may have happened, so the payment must not become ``failed``: it waits for Stripe
    to answer (trying to cancel) and reports what Stripe says — here, that it succeeded."""
    proxy = localstripe_like.proxy
    lost = proxy.add(Fault.DROP_RESPONSE, "POST", CONFIRM, times=1)
    payment = await saved_card_payment(
        api,
        stack.sessions,
        stack.stripe_url,
        CARD_OK,
        timeouts=PaymentTimeouts(60, 60, 600, 5, provider_outage_seconds=3),
    )
    handle: WorkflowHandle[object, object] = await stack.client.start_workflow(
        "PaymentWorkflow",
        payment,
        id=payment.payment_id,
        task_queue=localstripe_like.settings.task_queue,
    )
    await asyncio.wait_for(lost.matched.wait(), timeout=30)
    silent = proxy.add(Fault.STATUS, "GET", r"/v1/payment_intents/[^/]+", status=503)
    await asyncio.sleep(6)
    waiting = await handle.query("state", result_type=PaymentState)
    assert waiting.payment.status is PaymentStatus.PROCESSING
    assert "whether money moved" in waiting.step

    silent.times = silent.hits
    settled = await asyncio.wait_for(
        handle.execute_update(
            "settle", SettleRequest(payment.request_hash), result_type=SettleResult
        ),
        timeout=60,
    )
    assert settled.payment.status is PaymentStatus.SUCCEEDED
    assert intent_statuses(stack.stripe_url, payment.payment_id) == ["succeeded"]
    assert confirms_forwarded(proxy) == 1
    await handle.terminate("test over")
