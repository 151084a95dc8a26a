"""Webhooks: delivered in PayPal's envelope, signed like PayPal, verifiable offline and online."""

from __future__ import annotations

import asyncio
import base64
import zlib
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sandbox.paypal import SandboxConfig, create_app
from tests.support.sandbox import WEBHOOK_ID, Delivery, Receiver, click, link, order_body


def _verify_offline(delivery: Delivery, body: bytes) -> None:
    """PayPal's documented check, with the certificate fetched from PAYPAL-CERT-URL."""
    headers = delivery.headers
    assert headers["paypal-auth-algo"] == "SHA256withRSA"
    pem = httpx.get(headers["paypal-cert-url"]).content
    public_key = x509.load_pem_x509_certificate(pem).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    message = (
        f"{headers['paypal-transmission-id']}|{headers['paypal-transmission-time']}|"
        f"{WEBHOOK_ID}|{zlib.crc32(body)}"
    ).encode()
    signature = base64.b64decode(headers["paypal-transmission-sig"])
    public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())


def test_approval_and_capture_events_arrive_signed(
    paypal: Any, hooks: Receiver, sandbox_url: str
) -> None:
    order = paypal.orders.create_order({"body": order_body("3.00")}).body
    click(link(order, "payer-action"), "approve")
    captured = paypal.orders.capture_order({"id": order.id}).body
    capture_id = captured.purchase_units[0].payments.captures[0].id

    approved = hooks.wait_for("CHECKOUT.ORDER.APPROVED", lambda r: r["id"] == order.id)
    completed = hooks.wait_for("PAYMENT.CAPTURE.COMPLETED", lambda r: r["id"] == capture_id)

    envelope = approved.event
    assert envelope["id"].startswith("WH-")
    assert envelope["resource_type"] == "checkout-order"
    assert envelope["resource"]["status"] == "APPROVED"
    assert envelope["summary"]
    assert envelope["create_time"].endswith("Z")
    resource = completed.event["resource"]
    assert completed.event["resource_type"] == "capture"
    assert resource["supplementary_data"]["related_ids"]["order_id"] == order.id
    assert resource["custom_id"] == "pay_1"
    assert completed.headers["paypal-cert-url"].startswith(sandbox_url + "/")
    for delivery in (approved, completed):
        _verify_offline(delivery, delivery.body)
    with pytest.raises(InvalidSignature):
        _verify_offline(completed, completed.body.replace(b"3.00", b"9.00"))


def test_verify_webhook_signature_endpoint(paypal: Any, hooks: Receiver, sandbox_url: str) -> None:
    order = paypal.orders.create_order({"body": order_body("4.00")}).body
    click(link(order, "payer-action"), "approve")
    delivery = hooks.wait_for("CHECKOUT.ORDER.APPROVED", lambda r: r["id"] == order.id)
    headers = delivery.headers
    fields = {
        "auth_algo": headers["paypal-auth-algo"],
        "cert_url": headers["paypal-cert-url"],
        "transmission_id": headers["paypal-transmission-id"],
        "transmission_sig": headers["paypal-transmission-sig"],
        "transmission_time": headers["paypal-transmission-time"],
        "webhook_id": WEBHOOK_ID,
        "webhook_event": delivery.event,
    }
    token = paypal.oauth_2.fetch_token().access_token
    auth = {"Authorization": f"Bearer {token}"}
    url = f"{sandbox_url}/v1/notifications/verify-webhook-signature"

    genuine = httpx.post(url, json=fields, headers=auth)
    tampered_event = {**delivery.event, "summary": "tampered"}
    tampered = httpx.post(url, json={**fields, "webhook_event": tampered_event}, headers=auth)

    assert genuine.json() == {"verification_status": "SUCCESS"}
    assert tampered.json() == {"verification_status": "FAILURE"}


def test_denied_capture_on_request_sends_capture_denied(paypal: Any, hooks: Receiver) -> None:
    order = paypal.orders.create_order({"body": order_body("5.00")}).body
    click(link(order, "payer-action"), "approve")
    mock = '{"mock_application_codes": "CAPTURE_DENIED"}'

    captured = paypal.orders.capture_order({"id": order.id, "paypal_mock_response": mock}).body

    capture = captured.purchase_units[0].payments.captures[0]
    assert capture.status == "DECLINED"
    hooks.wait_for("PAYMENT.CAPTURE.DENIED", lambda r: r["id"] == capture.id)


def test_saving_a_wallet_sends_payment_token_created(paypal: Any, hooks: Receiver) -> None:
    setup = paypal.vault.create_setup_token(
        {"body": {"payment_source": {"paypal": {"usage_type": "MERCHANT"}}}}
    ).body
    approval = httpx.get(link(setup, "approve") + "&action=approve")
    assert approval.status_code == 200
    token = paypal.vault.create_payment_token(
        {"body": {"payment_source": {"token": {"id": setup.id, "type": "SETUP_TOKEN"}}}}
    ).body
    hooks.wait_for("VAULT.PAYMENT-TOKEN.CREATED", lambda r: r["id"] == token.id)


async def test_receiver_registered_at_runtime_gets_events(
    receiver: tuple[Receiver, str],
) -> None:
    """``POST /_config/webhooks`` points a sandbox started without a URL at a receiver."""
    hooks, hook_url = receiver
    app = create_app(SandboxConfig(public_url="http://sandbox.test"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as api:
        configured = await api.post(
            "/_config/webhooks", json={"url": hook_url, "webhook_id": "WH-RUNTIME"}
        )
        assert configured.json() == {"url": hook_url, "webhook_id": "WH-RUNTIME"}
        token = await api.post(
            "/v1/oauth2/token",
            auth=("sandbox-client-id", "sandbox-client-secret"),
            data={"grant_type": "client_credentials"},
        )
        auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
        created = await api.post("/v2/checkout/orders", json=order_body(), headers=auth)
        order = created.json()
        approve = next(item["href"] for item in order["links"] if item["rel"] == "payer-action")
        approved = await api.get(approve + "&action=approve")
        assert approved.status_code == 303

        delivery = await asyncio.to_thread(
            hooks.wait_for, "CHECKOUT.ORDER.APPROVED", lambda r: r["id"] == order["id"]
        )
        await app.state.sandbox.webhooks.drain()

    assert delivery.headers["paypal-cert-url"].startswith("http://sandbox.test/")
