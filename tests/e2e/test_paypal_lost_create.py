"""A PayPal saved-wallet payment whose create answers are lost for longer than PayPal keeps
request IDs: PayPal charges the wallet in the create call, the answers never arrive, and by the
time they could, a create sent again would be a new order and a second charge. The payment stops
repeating the create while PayPal still remembers its request ID, finds the capture through
PayPal's transaction search, and ends with exactly one capture at the sandbox.

The sandbox here forgets request IDs after a few seconds instead of 6 hours, the outage limit is
seconds instead of a day, and the fault proxy cuts every create's answer after PayPal acted."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from activities.providers.base import Provider
from activities.providers.paypal import PayPalProvider
from activities.providers.stripe import StripeProvider
from contracts.payments import (
    PaymentInput,
    PaymentStatus,
    PaymentTimeouts,
    SettleRequest,
    SettleResult,
)
from contracts.providers import CaptureMethod, ProviderName
from sandbox.faults.proxy import Fault, FaultProxy
from settings import Settings
from tests.support.net import free_port
from tests.support.paypal import (
    CLIENT_ID,
    CLIENT_SECRET,
    captures_of,
    running_paypal_sandbox,
    vaulted_wallet,
)
from tests.support.stack import Stack
from worker import build_worker

REQUEST_ID_LIFETIME = 6.0
"""Seconds the sandbox remembers a PayPal-Request-Id (PayPal: 6 hours)."""
OUTAGE_LIMIT = 3
"""Seconds the payment repeats its create: inside the sandbox's memory, as 5 h is in PayPal's."""
ANSWERS_LOST_FOR = 9.0
"""Seconds every create's answer is cut: longer than the sandbox remembers request IDs."""
CREATE_ORDER = r"/v2/checkout/orders"


@dataclass(frozen=True)
class ForgetfulPayPal:
    sandbox_url: str
    proxy: FaultProxy
    settings: Settings


@pytest.fixture
async def forgetful_paypal(stack: Stack) -> AsyncIterator[ForgetfulPayPal]:
    """A sandbox that forgets request IDs, behind a fault proxy, and a worker that reaches PayPal
    (orders and the transaction search alike) only through that proxy."""
    with running_paypal_sandbox(free_port(), request_id_lifetime=REQUEST_ID_LIFETIME) as url:
        proxy = FaultProxy(url)
        await proxy.start(free_port())
        settings = stack.settings.model_copy(
            update={
                "task_queue": f"lost-create-{uuid.uuid4().hex[:8]}",
                "paypal_api_base": proxy.url,
                "paypal_reporting_lag": timedelta(0),
                "circuit_failure_threshold": 1000,
            }
        )
        providers: dict[ProviderName, Provider] = {
            ProviderName.STRIPE: StripeProvider("sk_test_lost_create", stack.stripe_url),
            ProviderName.PAYPAL: PayPalProvider(CLIENT_ID, CLIENT_SECRET, proxy.url),
        }
        try:
            async with build_worker(stack.client, settings, stack.sessions, providers=providers):
                yield ForgetfulPayPal(url, proxy, settings)
        finally:
            await proxy.stop()


def wallet_payment(vault_id: str) -> PaymentInput:
    return PaymentInput(
        payment_id=f"pay_lost_{uuid.uuid4().hex[:12]}",
        account_id="acct_dev",
        request_hash="lost-create",
        amount=4200,
        currency="USD",
        customer_id="cus_lost_create",
        provider=ProviderName.PAYPAL,
        capture_method=CaptureMethod.AUTOMATIC,
        timeouts=PaymentTimeouts(
            action_seconds=60,
            authorization_expiry_seconds=60,
            refund_window_seconds=600,
            provider_call_seconds=5,
            provider_outage_seconds=OUTAGE_LIMIT,
        ),
        created_at=datetime.now(UTC),
        payment_method_ref=vault_id,
    )


async def test_a_wallet_payment_whose_create_answers_are_lost_is_captured_once(
    stack: Stack, forgetful_paypal: ForgetfulPayPal
) -> None:
    payment = wallet_payment(vaulted_wallet(forgetful_paypal.sandbox_url))
    lost = forgetful_paypal.proxy.add(Fault.DROP_RESPONSE, "POST", CREATE_ORDER)
    began = datetime.now(UTC)

    async def answers_come_back() -> None:
        await asyncio.sleep(ANSWERS_LOST_FOR)
        forgetful_paypal.proxy.release_all()

    restored = asyncio.create_task(answers_come_back())
    handle = await stack.client.start_workflow(
        "PaymentWorkflow",
        payment,
        id=payment.payment_id,
        task_queue=forgetful_paypal.settings.task_queue,
    )
    settled = await asyncio.wait_for(
        handle.execute_update(
            "settle", SettleRequest(payment.request_hash), result_type=SettleResult
        ),
        timeout=60,
    )
    await restored
    # A create sent again once the answers came back would have reached the sandbox by now.
    await asyncio.sleep(2)

    assert lost.hits >= 2
    assert settled.payment.status is PaymentStatus.SUCCEEDED
    assert settled.payment.amount_captured == 4200
    (capture,) = captures_of(
        forgetful_paypal.sandbox_url,
        payment.payment_id,
        began - timedelta(minutes=1),
        datetime.now(UTC) + timedelta(minutes=1),
    )
    assert capture
    creates_sent = sum(
        1 for method, path in forgetful_paypal.proxy.forwarded if path == CREATE_ORDER
    )
    assert creates_sent == lost.hits
