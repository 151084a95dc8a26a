"""The sandbox's transaction search (``GET /v1/reporting/transactions``) and its forgetting of
request IDs, as Durapay's reconciliation and lost-create lookup rely on them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sandbox.paypal import SandboxConfig, create_app
from tests.support.net import free_port
from tests.support.paypal import access_token
from tests.support.sandbox import click, link, order_body, serving

SEARCH = "/v1/reporting/transactions"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def search(sandbox_url: str, **params: str) -> httpx.Response:
    return httpx.get(
        f"{sandbox_url}{SEARCH}",
        params=params,
        headers={"Authorization": f"Bearer {access_token(sandbox_url)}"},
    )


def captured_order(paypal: Any, custom_id: str) -> str:
    order = paypal.orders.create_order({"body": order_body("12.50", custom_id=custom_id)}).body
    click(link(order, "payer-action"), "approve")
    paypal.orders.capture_order({"id": order.id})
    return str(order.id)


def test_a_capture_is_listed_with_its_order_and_custom_id(paypal: Any, sandbox_url: str) -> None:
    custom_id = f"pay_{uuid.uuid4().hex[:8]}"
    order_id = captured_order(paypal, custom_id)
    now = datetime.now(UTC)

    found = search(
        sandbox_url, start_date=stamp(now - timedelta(hours=1)), end_date=stamp(now + timedelta(1))
    )

    assert found.status_code == 200, found.text
    infos = [d["transaction_info"] for d in found.json()["transaction_details"]]
    (info,) = [i for i in infos if i.get("custom_field") == custom_id]
    assert info["paypal_reference_id"] == order_id
    assert info["paypal_reference_id_type"] == "ODR"
    assert info["transaction_event_code"] == "T0006"
    assert info["transaction_status"] == "S"
    assert info["transaction_amount"] == {"currency_code": "USD", "value": "12.50"}


def test_the_date_range_bounds_the_listing_and_is_required(sandbox_url: str) -> None:
    future = datetime.now(UTC) + timedelta(days=1)
    empty = search(sandbox_url, start_date=stamp(future), end_date=stamp(future + timedelta(1)))
    assert empty.json()["transaction_details"] == []
    missing = search(sandbox_url, start_date=stamp(future))
    assert missing.status_code == 400
    assert missing.json()["details"][0]["issue"] == "MISSING_REQUIRED_PARAMETER"
    too_long = search(
        sandbox_url, start_date=stamp(future), end_date=stamp(future + timedelta(days=32))
    )
    assert too_long.status_code == 400


@pytest.fixture
def forgetful_sandbox() -> Iterator[str]:
    port = free_port()
    config = SandboxConfig(public_url=f"http://127.0.0.1:{port}", request_id_lifetime_seconds=1)
    with serving(create_app(config), port) as url:
        yield url


def test_a_request_id_is_forgotten_after_its_lifetime(forgetful_sandbox: str) -> None:
    headers = {
        "Authorization": f"Bearer {access_token(forgetful_sandbox)}",
        "PayPal-Request-Id": "create-once",
    }
    body = order_body("5.00")

    def create() -> str:
        response = httpx.post(f"{forgetful_sandbox}/v2/checkout/orders", json=body, headers=headers)
        assert response.status_code in (200, 201), response.text
        order_id: str = response.json()["id"]
        return order_id

    first = create()
    assert create() == first
    time.sleep(1.2)
    assert create() != first
