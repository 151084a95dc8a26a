"""Orders v2 through the official SDK: auth, the buyer step, capture, failures, idempotency."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
from paypalserversdk.exceptions.error_exception import (  # type: ignore[import-untyped]
    ErrorException,
)

from sandbox.paypal import SandboxConfig
from tests.support.sandbox import CANCEL_URL, RETURN_URL, click, link, order_body, sdk_client


def _approved_order(paypal: Any, intent: str = "CAPTURE", value: str = "10.00") -> Any:
    order = paypal.orders.create_order({"body": order_body(value, intent)}).body
    click(link(order, "payer-action"), "approve")
    return order


def test_calls_without_a_valid_bearer_token_are_refused(sandbox_url: str) -> None:
    missing = httpx.get(f"{sandbox_url}/v2/checkout/orders/NOPE")
    wrong = httpx.get(
        f"{sandbox_url}/v2/checkout/orders/NOPE", headers={"Authorization": "Bearer forged"}
    )
    for response in (missing, wrong):
        assert response.status_code == 401
        body = response.json()
        assert body["name"] == "AUTHENTICATION_FAILURE"
        assert body["debug_id"]
    token = httpx.post(
        f"{sandbox_url}/v1/oauth2/token",
        auth=("sandbox-client-id", "wrong-secret"),
        data={"grant_type": "client_credentials"},
    )
    assert token.status_code == 401
    assert token.json()["error"] == "invalid_client"


def test_sdk_with_wrong_credentials_gets_no_token(sandbox_url: str) -> None:
    client = sdk_client(sandbox_url, SandboxConfig().client_id, "wrong-secret")
    with pytest.raises(Exception, match="OAuthToken is undefined"):
        client.orders.get_order({"id": "NOPE"})


def test_buyer_approves_then_capture_completes(paypal: Any, sandbox_url: str) -> None:
    created = paypal.orders.create_order({"body": order_body("12.34")})
    order = created.body
    assert created.status_code == 201
    assert order.status == "PAYER_ACTION_REQUIRED"
    href = link(order, "payer-action")
    assert href.startswith(sandbox_url)
    page = httpx.get(href)
    assert page.status_code == 200
    assert "12.34 USD" in page.text

    target, params = click(href, "approve")

    assert target == RETURN_URL
    assert params["token"] == [order.id]
    assert params["PayerID"][0]
    assert paypal.orders.get_order({"id": order.id}).body.status == "APPROVED"
    captured = paypal.orders.capture_order({"id": order.id}).body
    assert captured.status == "COMPLETED"
    capture = captured.purchase_units[0].payments.captures[0]
    assert capture.status == "COMPLETED"
    assert capture.amount.value == "12.34"
    assert capture.custom_id == "pay_1"
    fetched = paypal.payments.get_captured_payment({"capture_id": capture.id}).body
    assert fetched.status == "COMPLETED"


def test_buyer_cancels_and_capture_is_refused(paypal: Any) -> None:
    order = paypal.orders.create_order({"body": order_body()}).body

    target, params = click(link(order, "payer-action"), "cancel")

    assert target == CANCEL_URL
    assert params["token"] == [order.id]
    assert paypal.orders.get_order({"id": order.id}).body.status == "PAYER_ACTION_REQUIRED"
    with pytest.raises(ErrorException) as refused:
        paypal.orders.capture_order({"id": order.id})
    assert refused.value.response_code == 422
    assert refused.value.name == "UNPROCESSABLE_ENTITY"
    assert refused.value.details[0].issue == "ORDER_NOT_APPROVED"


def test_order_without_payment_source_offers_an_approve_link(paypal: Any) -> None:
    body = order_body()
    del body["payment_source"]
    order = paypal.orders.create_order({"body": body}).body
    assert order.status == "CREATED"
    assert link(order, "approve")


def test_instrument_declined_on_request_then_a_plain_capture_works(paypal: Any) -> None:
    order = _approved_order(paypal)
    mock = '{"mock_application_codes": "INSTRUMENT_DECLINED"}'

    with pytest.raises(ErrorException) as declined:
        paypal.orders.capture_order({"id": order.id, "paypal_mock_response": mock})

    assert declined.value.response_code == 422
    assert declined.value.details[0].issue == "INSTRUMENT_DECLINED"
    assert declined.value.debug_id
    assert paypal.orders.get_order({"id": order.id}).body.status == "APPROVED"
    assert paypal.orders.capture_order({"id": order.id}).body.status == "COMPLETED"


def test_mock_internal_server_error_answers_500(paypal: Any) -> None:
    mock = '{"mock_application_codes": "INTERNAL_SERVER_ERROR"}'
    with pytest.raises(ErrorException) as failed:
        paypal.orders.create_order({"body": order_body(), "paypal_mock_response": mock})
    assert failed.value.response_code == 500
    assert failed.value.name == "INTERNAL_SERVER_ERROR"


def test_delay_header_slows_the_answer(paypal: Any, sandbox_url: str) -> None:
    token = paypal.oauth_2.fetch_token().access_token
    started = time.monotonic()
    response = httpx.get(
        f"{sandbox_url}/v2/checkout/orders/NOPE",
        headers={"Authorization": f"Bearer {token}", "PayPal-Sandbox-Delay-Ms": "300"},
    )
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 404
    assert response.json()["name"] == "RESOURCE_NOT_FOUND"


def test_same_request_id_makes_one_order_and_one_capture(paypal: Any) -> None:
    request_id = str(uuid.uuid4())
    first = paypal.orders.create_order({"body": order_body(), "paypal_request_id": request_id})
    again = paypal.orders.create_order({"body": order_body(), "paypal_request_id": request_id})
    other = paypal.orders.create_order({"body": order_body()})
    assert first.body.id == again.body.id
    assert other.body.id != first.body.id

    click(link(first.body, "payer-action"), "approve")
    capture_id = str(uuid.uuid4())
    one = paypal.orders.capture_order({"id": first.body.id, "paypal_request_id": capture_id})
    two = paypal.orders.capture_order({"id": first.body.id, "paypal_request_id": capture_id})

    assert two.status_code == one.status_code == 201
    ids = [c.id for c in one.body.purchase_units[0].payments.captures]
    assert [c.id for c in two.body.purchase_units[0].payments.captures] == ids
    stored = paypal.orders.get_order({"id": first.body.id}).body
    assert [c.id for c in stored.purchase_units[0].payments.captures] == ids
    with pytest.raises(ErrorException) as again_capture:
        paypal.orders.capture_order({"id": first.body.id})
    assert again_capture.value.details[0].issue == "ORDER_ALREADY_CAPTURED"


def test_invalid_amount_is_refused_for_its_precision(paypal: Any) -> None:
    """PayPal answers too many decimals as a business rule: 422 ``DECIMAL_PRECISION`` (as
    PayPal's own error logs show it), naming the field and the value."""
    with pytest.raises(ErrorException) as refused:
        paypal.orders.create_order({"body": order_body("10.005")})
    assert refused.value.response_code == 422
    assert refused.value.name == "UNPROCESSABLE_ENTITY"
    assert refused.value.details[0].issue == "DECIMAL_PRECISION"
    assert refused.value.details[0].field == "/purchase_units/0/amount/value"


@pytest.mark.parametrize("currency", ["HUF", "JPY", "TWD"])
def test_whole_unit_currencies_take_no_decimals(paypal: Any, currency: str) -> None:
    """HUF, JPY and TWD "do not support decimals" at PayPal: even ``10.00`` is refused."""
    body = order_body("10.00")
    body["purchase_units"][0]["amount"]["currency_code"] = currency
    with pytest.raises(ErrorException) as refused:
        paypal.orders.create_order({"body": body})
    assert refused.value.response_code == 422
    assert refused.value.details[0].issue == "DECIMAL_PRECISION"

    body["purchase_units"][0]["amount"]["value"] = "1050"
    order = paypal.orders.create_order({"body": body}).body
    assert (order.purchase_units[0].amount.currency_code, order.purchase_units[0].amount.value) == (
        currency,
        "1050",
    )
