"""PayPal through the same API as Stripe: buyer approval, manual capture, refunds, saved wallets
and webhooks — against the PayPal sandbox, with the official SDK inside the provider."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from activities.providers.paypal import PayPalProvider
from api.main import create_app
from contracts.payments import (
    PaymentInput,
    PaymentStatus,
    PaymentTimeouts,
    PaymentView,
    SettleRequest,
    SettleResult,
)
from contracts.providers import CaptureMethod, ProviderName
from settings import DEV_CLIENT_KEY
from tests.support.flows import new_customer, new_key, pay, wait_for_status
from tests.support.net import free_port
from tests.support.paypal import approved_setup_token, buyer_clicks
from tests.support.sandbox import Receiver, serving
from tests.support.stack import Stack
from worker import build_worker

SHOP = "https://shop.example/orders/1001"


async def checkout(api: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    customer_id = await new_customer(api)
    response = await pay(
        api,
        customer_id,
        None,
        amount=2500,
        currency="usd",
        provider="paypal",
        return_url=SHOP,
        **extra,
    )
    assert response.status_code == 201, response.text
    payment: dict[str, Any] = response.json()
    return payment


async def test_buyer_approves_and_the_payment_succeeds(api: httpx.AsyncClient) -> None:
    payment = await checkout(api)
    assert payment["status"] == "requires_action"
    action = payment["next_action"]
    assert isinstance(action, dict)
    assert action["type"] == "redirect_to_url"

    back = buyer_clicks(action["url"], "approve")

    assert back.startswith(SHOP)
    settled = await wait_for_status(api, str(payment["id"]), "succeeded")
    assert (settled["provider"], settled["amount_captured"]) == ("paypal", 2500)
    events = (await api.get(f"/v1/payments/{payment['id']}/events")).json()["data"]
    assert events[-1]["type"] == "provider.webhook"


async def test_manual_capture_and_partial_refund(api: httpx.AsyncClient) -> None:
    payment = await checkout(api, capture_method="manual")
    action = payment["next_action"]
    assert isinstance(action, dict)
    buyer_clicks(action["url"], "approve")
    authorized = await wait_for_status(api, str(payment["id"]), "requires_capture")
    assert authorized["amount_capturable"] == 2500

    captured = await api.post(
        f"/v1/payments/{payment['id']}/capture",
        json={"amount": 1500},
        headers={"Idempotency-Key": new_key()},
    )
    refund = await api.post(
        f"/v1/payments/{payment['id']}/refunds",
        json={"amount": 500},
        headers={"Idempotency-Key": new_key()},
    )
    too_much = await api.post(
        f"/v1/payments/{payment['id']}/refunds",
        json={"amount": 1001},
        headers={"Idempotency-Key": new_key()},
    )

    assert captured.status_code == 200, captured.text
    assert (captured.json()["status"], captured.json()["amount_captured"]) == ("succeeded", 1500)
    assert (refund.status_code, refund.json()["status"]) == (201, "succeeded")
    assert too_much.status_code == 422
    stored = (await api.get(f"/v1/payments/{payment['id']}")).json()
    assert stored["amount_refunded"] == 500


async def test_buyer_cancels_and_the_payment_is_canceled(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    """PayPal tells nobody when a buyer cancels: the action timeout cancels the payment."""
    impatient = stack.settings.model_copy(update={"action_timeout": timedelta(seconds=2)})
    app = create_app(impatient, client=stack.client)
    customer_id = await new_customer(api)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://impatient",
            headers={"Authorization": f"Bearer {DEV_CLIENT_KEY}"},
        ) as client:
            response = await pay(
                client, customer_id, None, provider="paypal", return_url=SHOP, currency="eur"
            )
    payment = response.json()
    assert payment["status"] == "requires_action"

    buyer_clicks(payment["next_action"]["url"], "cancel")

    canceled = await wait_for_status(api, payment["id"], "canceled")
    assert canceled["amount_captured"] == 0


async def test_saved_wallet_is_charged_without_the_buyer(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id = await new_customer(api)
    saved = await api.post(
        f"/v1/customers/{customer_id}/payment-methods",
        json={"provider": "paypal", "token": approved_setup_token(stack.paypal_url)},
    )
    assert saved.status_code == 201, saved.text
    assert saved.json()["type"] == "paypal"

    response = await pay(api, customer_id, saved.json()["id"], amount=990, currency="usd")

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "succeeded"
    assert response.json()["provider"] == "paypal"


async def test_checkout_without_return_url_is_refused(api: httpx.AsyncClient) -> None:
    customer_id = await new_customer(api)
    response = await pay(api, customer_id, None, provider="paypal")
    assert response.status_code == 422
    assert response.json()["code"] == "return_url_required"


async def test_forged_paypal_webhooks_are_400(stack: Stack) -> None:
    body = json.dumps({"id": "WH-forged", "event_type": "CHECKOUT.ORDER.APPROVED"}).encode()
    headers = {
        "PAYPAL-TRANSMISSION-ID": "t-1",
        "PAYPAL-TRANSMISSION-TIME": "2026-11-23T00:00:00Z",
        "PAYPAL-TRANSMISSION-SIG": "bm90IGEgc2lnbmF0dXJl",
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        "PAYPAL-CERT-URL": f"{stack.paypal_url}/v1/notifications/certs/CERT-sandbox",
    }
    async with httpx.AsyncClient(base_url=stack.api_url) as client:
        bad_signature = await client.post("/v1/webhooks/paypal", content=body, headers=headers)
        foreign_cert = await client.post(
            "/v1/webhooks/paypal",
            content=body,
            headers={**headers, "PAYPAL-CERT-URL": "https://evil.example/cert.pem"},
        )
        unsigned = await client.post("/v1/webhooks/paypal", content=body)

    for response in (bad_signature, foreign_cert, unsigned):
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_signature"


def deliver_paypal_events_to(paypal_url: str, url: str, webhook_id: str) -> None:
    response = httpx.post(
        f"{paypal_url}/_config/webhooks", json={"url": url, "webhook_id": webhook_id}
    )
    response.raise_for_status()


async def test_duplicate_paypal_webhook_has_one_effect(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    """A genuinely signed event, captured on its way, then delivered to Durapay twice."""
    webhook_id = stack.settings.paypal_webhook_id
    hook = Receiver()
    with serving(hook.app, free_port()) as receiver_url:
        deliver_paypal_events_to(stack.paypal_url, receiver_url + "/", webhook_id)
        try:
            payment = await checkout(api)
            action = payment["next_action"]
            assert isinstance(action, dict)
            buyer_clicks(action["url"], "approve")
            delivery = await asyncio.to_thread(
                hook.wait_for,
                "CHECKOUT.ORDER.APPROVED",
                lambda order: order["id"] == payment["provider_reference"],
            )
        finally:
            deliver_paypal_events_to(
                stack.paypal_url, f"{stack.api_url}/v1/webhooks/paypal", webhook_id
            )
    headers = {k: v for k, v in delivery.headers.items() if k.lower().startswith("paypal-")}

    async with httpx.AsyncClient(base_url=stack.api_url) as client:
        first = await client.post("/v1/webhooks/paypal", content=delivery.body, headers=headers)
        second = await client.post("/v1/webhooks/paypal", content=delivery.body, headers=headers)
        tampered = await client.post(
            "/v1/webhooks/paypal",
            content=delivery.body.replace(b"APPROVED", b"APPROVEX"),
            headers=headers,
        )

    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.json()["duplicate"], second.json()["duplicate"]) == (False, True)
    assert tampered.status_code == 400
    await wait_for_status(api, str(payment["id"]), "succeeded")
    events = (await api.get(f"/v1/payments/{payment['id']}/events")).json()["data"]
    assert [e["type"] for e in events].count("provider.webhook") == 1


async def test_decline_at_capture_fails_the_payment(api: httpx.AsyncClient, stack: Stack) -> None:
    """PayPal denies the capture after the buyer approved (the sandbox's CAPTURE_DENIED trigger):
    a failed payment with a clear code, nothing captured."""
    declining = {
        ProviderName.PAYPAL: PayPalProvider(
            stack.settings.paypal_client_id,
            stack.settings.paypal_client_secret.get_secret_value(),
            stack.paypal_url,
            mock_response=json.dumps({"mock_application_codes": "CAPTURE_DENIED"}),
        )
    }
    settings = stack.settings.model_copy(update={"task_queue": f"declines-{uuid.uuid4().hex[:8]}"})
    customer_id = await new_customer(api)
    payment = PaymentInput(
        payment_id=f"pay_declined_{uuid.uuid4().hex[:12]}",
        account_id="acct_dev",
        request_hash="declined",
        amount=4200,
        currency="USD",
        customer_id=customer_id,
        provider=ProviderName.PAYPAL,
        capture_method=CaptureMethod.AUTOMATIC,
        timeouts=PaymentTimeouts(60, 60, 60, 10),
        created_at=datetime.now(UTC),
        return_url=SHOP,
    )
    async with build_worker(stack.client, settings, stack.sessions, providers=declining):
        handle = await stack.client.start_workflow(
            "PaymentWorkflow",
            payment,
            id=payment.payment_id,
            task_queue=settings.task_queue,
            result_type=PaymentView,
        )
        started = await handle.execute_update(
            "settle", SettleRequest(payment.request_hash), result_type=SettleResult
        )
        assert started.payment.next_action is not None
        buyer_clicks(str(started.payment.next_action.url), "approve")
        final: PaymentView = await handle.result()

    assert final.status is PaymentStatus.FAILED
    assert final.failure is not None
    assert final.failure.code == "instrument_declined"
    assert final.amount_captured == 0
