"""Payments v2 through the official SDK: authorize, partial capture, refunds within bounds."""

from __future__ import annotations

from typing import Any

import pytest
from paypalserversdk.exceptions.error_exception import (  # type: ignore[import-untyped]
    ErrorException,
)

from tests.support.sandbox import click, link, order_body


def _usd(value: str) -> dict[str, str]:
    return {"currency_code": "USD", "value": value}


def test_authorize_capture_part_refund_part_and_never_beyond(paypal: Any) -> None:
    order = paypal.orders.create_order({"body": order_body("10.00", "AUTHORIZE")}).body
    click(link(order, "payer-action"), "approve")
    with pytest.raises(ErrorException) as wrong_intent:
        paypal.orders.capture_order({"id": order.id})
    assert wrong_intent.value.details[0].issue == "ACTION_DOES_NOT_MATCH_INTENT"

    authorized = paypal.orders.authorize_order({"id": order.id}).body
    assert authorized.status == "COMPLETED"
    authorization = authorized.purchase_units[0].payments.authorizations[0]
    assert authorization.status == "CREATED"

    capture = paypal.payments.capture_authorized_payment(
        {"authorization_id": authorization.id, "body": {"amount": _usd("6.00")}}
    ).body
    assert capture.status == "COMPLETED"
    assert capture.amount.value == "6.00"
    payments = paypal.payments
    fetched = payments.get_authorized_payment({"authorization_id": authorization.id}).body
    assert fetched.status == "PARTIALLY_CAPTURED"
    with pytest.raises(ErrorException) as over_capture:
        payments.capture_authorized_payment(
            {"authorization_id": authorization.id, "body": {"amount": _usd("4.01")}}
        )
    assert over_capture.value.details[0].issue == "MAX_CAPTURE_AMOUNT_EXCEEDED"

    refund = payments.refund_captured_payment(
        {"capture_id": capture.id, "body": {"amount": _usd("4.00")}}
    ).body
    assert refund.status == "COMPLETED"
    assert payments.get_refund({"refund_id": refund.id}).body.amount.value == "4.00"
    assert payments.get_captured_payment({"capture_id": capture.id}).body.status == (
        "PARTIALLY_REFUNDED"
    )
    with pytest.raises(ErrorException) as too_much:
        payments.refund_captured_payment(
            {"capture_id": capture.id, "body": {"amount": _usd("2.01")}}
        )
    assert too_much.value.response_code == 422
    assert too_much.value.name == "UNPROCESSABLE_ENTITY"
    assert too_much.value.details[0].issue == "REFUND_AMOUNT_EXCEEDED"

    rest = payments.refund_captured_payment({"capture_id": capture.id, "body": {}}).body
    assert rest.amount.value == "2.00"
    assert payments.get_captured_payment({"capture_id": capture.id}).body.status == "REFUNDED"

    voided = payments.void_payment({"authorization_id": authorization.id})
    assert voided.status_code == 204
    fetched = payments.get_authorized_payment({"authorization_id": authorization.id}).body
    assert fetched.status == "VOIDED"
    with pytest.raises(ErrorException) as again:
        payments.void_payment({"authorization_id": authorization.id})
    assert again.value.details[0].issue == "PREVIOUSLY_VOIDED"


def test_unknown_capture_is_resource_not_found(paypal: Any) -> None:
    with pytest.raises(ErrorException) as missing:
        paypal.payments.get_captured_payment({"capture_id": "NOSUCHCAPTURE0000"})
    assert missing.value.response_code == 404
    assert missing.value.name == "RESOURCE_NOT_FOUND"


def test_a_refund_of_a_whole_unit_currency_takes_no_decimals(paypal: Any) -> None:
    body = order_body("1000")
    body["purchase_units"][0]["amount"]["currency_code"] = "JPY"
    order = paypal.orders.create_order({"body": body}).body
    click(link(order, "payer-action"), "approve")
    captured = paypal.orders.capture_order({"id": order.id}).body
    capture = captured.purchase_units[0].payments.captures[0]
    assert (capture.amount.currency_code, capture.amount.value) == ("JPY", "1000")

    with pytest.raises(ErrorException) as refused:
        paypal.payments.refund_captured_payment(
            {"capture_id": capture.id, "body": {"amount": {"currency_code": "JPY", "value": "1.5"}}}
        )
    assert refused.value.response_code == 422
    assert refused.value.details[0].issue == "DECIMAL_PRECISION"
    refund = paypal.payments.refund_captured_payment(
        {"capture_id": capture.id, "body": {"amount": {"currency_code": "JPY", "value": "150"}}}
    ).body
    assert refund.amount.value == "150"
