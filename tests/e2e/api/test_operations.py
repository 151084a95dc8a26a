"""What an operator relies on: ``/health`` names a missing worker, every request has an id that is
echoed back, and each request writes one access line naming its route template, never the path."""

from __future__ import annotations

import logging
import uuid

import httpx
import pytest

from tests.support.in_process_api import in_process_api
from tests.support.stack import Stack


def access_lines(caplog: pytest.LogCaptureFixture, request_id: str) -> list[logging.LogRecord]:
    """The access lines of one request: the API is shared with the session's other tests, whose
    late requests (a background retry, a poll) may be logged while this one runs."""
    return [
        record
        for record in caplog.records
        if record.name == "durapay.access" and record.__dict__.get("request_id") == request_id
    ]


async def test_health_sees_the_worker_polling(api: httpx.AsyncClient) -> None:
    response = await api.get("/health")

    assert response.status_code == 200
    assert response.json()["checks"]["worker"] == "ok"


async def test_health_without_a_worker_is_degraded_and_says_why(stack: Stack) -> None:
    nobody_polls = stack.settings.model_copy(update={"task_queue": f"idle-{uuid.uuid4().hex}"})
    async with in_process_api(nobody_polls, client=stack.client) as api:
        response = await api.get("/health")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["worker"] == "down"
    assert response.json()["checks"]["temporal"] == "ok"


async def test_a_request_has_one_access_line_with_its_id_route_and_key(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="durapay.access")
    request_id = str(uuid.uuid4())
    response = await api.get("/v1/payments/pay_nosuch", headers={"X-Request-Id": request_id})

    assert response.status_code == 404
    assert response.headers["X-Request-Id"] == request_id
    (line,) = access_lines(caplog, request_id)
    assert line.__dict__["route"] == "/v1/payments/{payment_id}"
    assert line.__dict__["status"] == 404
    assert line.__dict__["request_id"] == request_id
    assert line.__dict__["api_key_id"] == "key_dev_client"
    assert line.__dict__["duration_ms"] >= 0
    assert "pay_nosuch" not in line.getMessage()


async def test_a_request_id_that_is_no_uuid_is_replaced_not_logged(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = await api.get("/health", headers={"X-Request-Id": "ada@example.com"})

    given = response.headers["X-Request-Id"]
    assert given != "ada@example.com"
    assert uuid.UUID(given)
    (line,) = access_lines(caplog, given)
    assert line.__dict__["request_id"] == given
    assert "ada@example.com" not in caplog.text


async def test_a_refused_card_number_still_gets_an_id_and_an_access_line(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="durapay.access")
    response = await api.post(
        "/v1/payments",
        json={"amount": 100, "currency": "usd", "customer_id": "cus_x", "note": "4242424242424242"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )

    assert response.status_code == 422
    assert response.headers["X-Request-Id"]
    (line,) = access_lines(caplog, response.headers["X-Request-Id"])
    assert (line.__dict__["status"], line.__dict__["route"]) == (422, "unmatched")
