"""Routing and provider outages end to end, on a stack of their own: a localstripe that the tests
stop and restart (its state kept on disk, as Stripe keeps it through an outage), a worker with
tight circuit settings, and the API in process. Checkouts are placed by currency and priority,
fall back to PayPal when Stripe is down, and a saved-card payment waits out the outage and is
charged exactly once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.payments import PaymentTimeouts, PaymentView, SettleRequest, SettleResult
from contracts.search_attributes import PROVIDER
from db.migrate import upgrade_to_head
from db.session import create_engine, create_session_factory
from money import ISO_4217
from settings import Settings
from tests.support.direct import saved_card_payment
from tests.support.flows import CARD_OK, card_customer, new_customer, pay, wait_for_status
from tests.support.in_process_api import in_process_api
from tests.support.localstripe import intent_statuses, running_localstripe
from tests.support.net import free_port
from tests.support.paypal import buyer_clicks
from tests.support.stack import Stack, make_settings
from worker import build_worker

SHOP = "https://shop.example/checkout/done"
FALLBACK_AFTER = timedelta(seconds=2)


class RestartableStripe:
    """localstripe on a fixed port, stopped and started by the test like an outage."""

    def __init__(self, port: int, state_file: Path) -> None:
        self.port = port
        self.state_file = state_file
        self.url = f"http://127.0.0.1:{port}"
        self._process = ExitStack()

    def start(self) -> None:
        self._process.enter_context(running_localstripe(self.port, self.state_file))

    def stop(self) -> None:
        self._process.close()

    @contextmanager
    def down(self) -> Iterator[None]:
        self.stop()
        try:
            yield
        finally:
            self.start()


@dataclass(frozen=True)
class Outage:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    stripe: RestartableStripe
    api: httpx.AsyncClient


@pytest.fixture(scope="module")
async def outage(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Outage]:
    directory = tmp_path_factory.mktemp("outage")
    stripe = RestartableStripe(free_port(), directory / "localstripe.pickle")
    stripe.start()
    settings = make_settings(
        directory,
        stripe.url,
        stack.settings.temporal_address,
        paypal_api_base=stack.settings.paypal_api_base,
        stripe_currencies=ISO_4217 - {"THB"},
        circuit_failure_threshold=2,
        circuit_cool_down=2,
        provider_fallback_after=int(FALLBACK_AFTER.total_seconds()),
        payment_settle_wait=6,
    )
    await upgrade_to_head(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        async with (
            build_worker(stack.client, settings, create_session_factory(engine)),
            in_process_api(settings, stack.client, timeout=30) as api,
        ):
            yield Outage(settings, create_session_factory(engine), stripe, api)
    finally:
        stripe.stop()
        await engine.dispose()


async def checkout(outage: Outage, currency: str = "USD", **extra: Any) -> httpx.Response:
    customer_id = await new_customer(outage.api)
    return await pay(outage.api, customer_id, None, amount=1500, currency=currency, **extra)


async def test_checkouts_are_placed_by_currency_and_priority(outage: Outage, stack: Stack) -> None:
    by_priority = await checkout(outage, return_url=SHOP)
    assert by_priority.status_code == 201, by_priority.text
    assert by_priority.json()["provider"] == "stripe"
    assert by_priority.json()["routing_rule"] == "priority stripe > paypal"
    assert by_priority.json()["next_action"]["type"] == "stripe_sdk"

    by_currency = await checkout(outage, "THB", return_url=SHOP)
    assert by_currency.status_code == 201, by_currency.text
    placed = by_currency.json()
    assert placed["provider"] == "paypal"
    assert "stripe does not take THB" in placed["routing_rule"]
    assert placed["next_action"]["type"] == "redirect_to_url"
    described = await stack.client.get_workflow_handle(placed["id"]).describe()
    assert described.typed_search_attributes.get(PROVIDER) == "paypal"

    no_way_back = await checkout(outage, "THB")
    assert no_way_back.status_code == 422
    assert no_way_back.json()["code"] == "provider_not_available"

    requested = await checkout(outage, provider="paypal", return_url=SHOP)
    assert requested.json()["routing_rule"] == "requested by the client: paypal"


async def test_a_checkout_falls_back_to_paypal_while_stripe_is_down(outage: Outage) -> None:
    with outage.stripe.down():
        started = time.monotonic()
        response = await checkout(outage, return_url=SHOP)
        assert response.status_code == 201, response.text
        payment = response.json()
        assert payment["provider"] == "paypal"
        assert payment["routing_rule"].startswith("fallback from stripe (ProviderUnavailable)")
        assert payment["status"] == "requires_action"
        assert time.monotonic() - started < FALLBACK_AFTER.total_seconds() + 5

        events = (await outage.api.get(f"/v1/payments/{payment['id']}/events")).json()["data"]
        fallback = next(event for event in events if event["type"] == "routing.fallback")
        assert fallback["data"] == {
            "status": "processing",
            "from": "stripe",
            "to": "paypal",
            "reason": "ProviderUnavailable",
        }

        health = (await outage.api.get("/health")).json()
        assert health["status"] == "degraded"
        assert health["checks"]["stripe"].startswith("circuit_open until ")
        assert health["checks"]["paypal"] == "ok"
        metrics = (await outage.api.get("/metrics")).text
        assert 'durapay_provider_circuit_open{provider="stripe"} 1.0' in metrics

        quick = time.monotonic()
        second = (await checkout(outage, return_url=SHOP)).json()
        assert second["provider"] == "paypal"
        assert "stripe circuit open" in second["routing_rule"]
        assert time.monotonic() - quick < FALLBACK_AFTER.total_seconds()

        buyer_clicks(payment["next_action"]["url"], "approve")
        await wait_for_status(outage.api, payment["id"], "succeeded")
    assert intent_statuses(outage.stripe.url, payment["id"]) == []


async def test_a_saved_card_payment_waits_out_a_stripe_outage_and_is_charged_once(
    outage: Outage,
) -> None:
    customer_id, method_id = await card_customer(outage.api, outage.stripe.url, CARD_OK)
    with outage.stripe.down():
        response = await pay(outage.api, customer_id, method_id, currency="eur")
        assert response.status_code == 202, response.text
        payment_id = response.json()["id"]
        await asyncio.sleep(2)
        waiting = (await outage.api.get(f"/v1/payments/{payment_id}")).json()
        assert waiting["status"] == "processing"
        assert waiting["failure"] is None
    paid = await wait_for_status(outage.api, payment_id, "succeeded", timeout=60)
    assert paid["amount_captured"] == 4999
    assert intent_statuses(outage.stripe.url, payment_id) == ["succeeded"]


async def test_an_outage_past_the_limit_fails_the_payment_without_charging(
    outage: Outage, stack: Stack
) -> None:
    payment = await saved_card_payment(
        outage.api,
        outage.sessions,
        outage.stripe.url,
        CARD_OK,
        timeouts=PaymentTimeouts(60, 60, 600, 5, provider_outage_seconds=3),
    )
    with outage.stripe.down():
        handle = await stack.client.start_workflow(
            "PaymentWorkflow",
            payment,
            id=payment.payment_id,
            task_queue=outage.settings.task_queue,
            result_type=PaymentView,
        )
        settled = await asyncio.wait_for(
            handle.execute_update(
                "settle", SettleRequest(payment.request_hash), result_type=SettleResult
            ),
            timeout=30,
        )
    failure = settled.payment.failure
    assert settled.payment.status == "failed"
    assert failure is not None
    assert failure.code == "provider_unavailable"
    assert intent_statuses(outage.stripe.url, payment.payment_id) == []
    assert (await handle.result()).status == "failed"
