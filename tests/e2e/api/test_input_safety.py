"""Bad input gets a clear problem+json error, changes nothing, and never echoes card data."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.support.flows import new_customer, new_key
from tests.support.stack import Stack

PAN = "4242 4242 4242 4242"


async def count_payments(api: httpx.AsyncClient, customer_id: str) -> int:
    return len((await api.get("/v1/payments", params={"customer_id": customer_id})).json()["data"])


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 100, "currency": "usd", "customer_id": "cus_x", "card_number": PAN},
        {"amount": 100, "currency": "usd", "customer_id": "cus_x", "metadata": {"note": PAN}},
        {
            "amount": 100,
            "currency": "usd",
            "customer_id": "cus_x",
            "description": "4242-4242-4242-4242",
        },
        {"amount": 4242424242424242, "currency": "usd", "customer_id": "cus_x"},
    ],
)
async def test_raw_card_data_is_refused_and_not_echoed(
    api: httpx.AsyncClient, body: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = await api.post("/v1/payments", json=body, headers={"Idempotency-Key": new_key()})

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "raw_card_data_forbidden"
    assert "4242" not in response.text
    assert "4242" not in caplog.text


async def test_card_number_in_a_customer_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v1/customers", json={"email": "a@example.com", "name": "4000056655665556"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "raw_card_data_forbidden"


async def test_amount_must_be_an_integer_of_minor_units(api: httpx.AsyncClient) -> None:
    customer_id = await new_customer(api)
    for amount in (49.99, "4999", 0, -5, True):
        response = await api.post(
            "/v1/payments",
            json={"amount": amount, "currency": "usd", "customer_id": customer_id},
            headers={"Idempotency-Key": new_key()},
        )
        assert response.status_code == 422, amount
        problem = response.json()
        assert problem["code"] == "validation_error"
        assert problem["errors"][0]["loc"][-1] == "amount"
        assert "input" not in problem["errors"][0]
    assert await count_payments(api, customer_id) == 0


async def test_unknown_currency_and_unknown_fields_are_validation_errors(
    api: httpx.AsyncClient,
) -> None:
    customer_id = await new_customer(api)
    for body in (
        {"amount": 100, "currency": "XYZ", "customer_id": customer_id},
        {"amount": 100, "currency": "usd", "customer_id": customer_id, "surprise": 1},
    ):
        response = await api.post("/v1/payments", json=body, headers={"Idempotency-Key": new_key()})
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"


async def test_idempotency_key_is_required_for_payments(api: httpx.AsyncClient) -> None:
    customer_id = await new_customer(api)
    response = await api.post(
        "/v1/payments", json={"amount": 100, "currency": "usd", "customer_id": customer_id}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_required"


async def test_unknown_customer_is_refused_without_starting_anything(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post(
        "/v1/payments",
        json={"amount": 100, "currency": "usd", "customer_id": "cus_nobody"},
        headers={"Idempotency-Key": new_key()},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "customer_not_found"


async def test_missing_or_wrong_key_is_401(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.api_url) as anonymous:
        missing = await anonymous.get("/v1/payments")
        wrong = await anonymous.get("/v1/payments", headers={"Authorization": "Bearer sk_nope"})
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.json()["code"] == wrong.json()["code"] == "unauthorized"


async def test_unknown_route_and_payment_are_problem_json(api: httpx.AsyncClient) -> None:
    missing = await api.get("/v1/payments/pay_nothing")
    nowhere = await api.get("/v1/nowhere")
    assert missing.status_code == nowhere.status_code == 404
    assert missing.json()["code"] == nowhere.json()["code"] == "not_found"
    assert missing.headers["content-type"] == "application/problem+json"


async def test_health_reports_each_dependency(api: httpx.AsyncClient) -> None:
    response = await api.get("/health")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["temporal"] == "ok"
    metrics = await api.get("/metrics")
    assert "durapay_http_requests_total" in metrics.text
