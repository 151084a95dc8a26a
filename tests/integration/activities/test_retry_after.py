"""A provider that says when to come back (``Retry-After`` on a 429 or a 5xx) is retried then,
not at the retry policy's next step: the activity's failure carries the delay for Temporal
(``next_retry_delay``), read by each provider's real SDK from a real HTTP answer. A payment's
retry therefore neither hammers a rate-limited provider nor waits an hour on one header."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from temporalio.exceptions import ApplicationError

from activities.providers.base import RETRY_AFTER_LIMIT, retry_after
from activities.providers.paypal import PayPalProvider
from activities.providers.stripe import StripeProvider
from contracts.errors import ErrorType
from contracts.providers import CaptureMethod, CreateIntentRequest
from sandbox.faults.proxy import Fault, FaultProxy
from tests.support.localstripe import TEST_API_KEY
from tests.support.net import free_port
from tests.support.paypal import CLIENT_ID, CLIENT_SECRET


async def proxied(target: str) -> AsyncIterator[FaultProxy]:
    proxy = FaultProxy(target)
    await proxy.start(free_port())
    try:
        yield proxy
    finally:
        await proxy.stop()


@pytest.fixture
async def stripe_proxy(provider_localstripe_url: str) -> AsyncIterator[FaultProxy]:
    async for proxy in proxied(provider_localstripe_url):
        yield proxy


@pytest.fixture
async def paypal_proxy(paypal_url: str) -> AsyncIterator[FaultProxy]:
    async for proxy in proxied(paypal_url):
        yield proxy


def checkout() -> CreateIntentRequest:
    return CreateIntentRequest(
        payment_id=f"pay_{uuid.uuid4().hex}",
        amount=2500,
        currency="USD",
        capture_method=CaptureMethod.AUTOMATIC,
        return_url="https://shop.example/orders/1001",
    )


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(429, ErrorType.PROVIDER_RATE_LIMITED), (503, ErrorType.PROVIDER_UNAVAILABLE)],
)
async def test_stripe_retry_after_sets_the_next_attempts_delay(
    stripe_proxy: FaultProxy, status: int, error_type: ErrorType
) -> None:
    stripe_proxy.add(
        Fault.STATUS, "POST", r"/v1/payment_intents", status=status, headers={"Retry-After": "7"}
    )
    provider = StripeProvider(TEST_API_KEY, stripe_proxy.url)

    with pytest.raises(ApplicationError) as refused:
        await provider.create_intent(checkout(), f"{uuid.uuid4().hex}:create")

    assert refused.value.type == error_type
    assert refused.value.non_retryable is False
    assert refused.value.next_retry_delay == timedelta(seconds=7)


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(429, ErrorType.PROVIDER_RATE_LIMITED), (503, ErrorType.PROVIDER_UNAVAILABLE)],
)
async def test_paypal_retry_after_sets_the_next_attempts_delay(
    paypal_proxy: FaultProxy, status: int, error_type: ErrorType
) -> None:
    paypal_proxy.add(
        Fault.STATUS, "POST", r"/v2/checkout/orders", status=status, headers={"Retry-After": "7"}
    )
    provider = PayPalProvider(CLIENT_ID, CLIENT_SECRET, paypal_proxy.url)

    with pytest.raises(ApplicationError) as refused:
        await provider.create_intent(checkout(), f"{uuid.uuid4().hex}:create")

    assert refused.value.type == error_type
    assert refused.value.next_retry_delay == timedelta(seconds=7)


async def test_without_retry_after_the_retry_policy_decides(stripe_proxy: FaultProxy) -> None:
    stripe_proxy.add(Fault.STATUS, "POST", r"/v1/payment_intents", status=429)
    provider = StripeProvider(TEST_API_KEY, stripe_proxy.url)

    with pytest.raises(ApplicationError) as refused:
        await provider.create_intent(checkout(), f"{uuid.uuid4().hex}:create")

    assert refused.value.type == ErrorType.PROVIDER_RATE_LIMITED
    assert refused.value.next_retry_delay is None


def test_retry_after_reads_seconds_and_dates_and_caps_them() -> None:
    in_a_minute_and_a_half = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    an_hour_ago = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)

    assert retry_after({"retry-after": "2"}) == timedelta(seconds=2)
    assert retry_after({"Retry-After": "0.5"}) == timedelta(seconds=0.5)
    assert retry_after({"Retry-After": "3600"}) == RETRY_AFTER_LIMIT
    assert retry_after({"Retry-After": in_a_minute_and_a_half}) == RETRY_AFTER_LIMIT
    assert retry_after({"Retry-After": an_hour_ago}) == timedelta(0)
    assert retry_after({"Retry-After": "soon"}) is None
    assert retry_after({"Retry-After": "inf"}) is None
    assert retry_after({"Other": "2"}) is None
    assert retry_after(None) is None
