"""Risk end to end (API, dev server, worker, localstripe): a review rule holds a payment
authorized until an operator approves (captured) or rejects it (voided); concurrent payments of a
basic-tier customer stop at the day's limit; repeated declines raise one alert. Each test runs in
an account of its own, so its rules reach no other test's payments."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from stripe import StripeClient

from tests.e2e.api.conftest import fresh_account_client
from tests.support.flows import (
    CARD_DECLINED,
    CARD_OK,
    card_customer,
    new_customer,
    pay,
    saved_card,
    wait_for_status,
)
from tests.support.paypal import buyer_clicks
from tests.support.stack import Stack


@pytest.fixture
async def operator(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """An admin key of a fresh account: its payments, its rules, its review queue."""
    async with fresh_account_client(stack, "admin", "risk operator") as client:
        yield client


def _intent_status(stack: Stack, reference: str) -> str:
    intents = StripeClient("sk_test_x", base_addresses={"api": stack.stripe_url}).v1.payment_intents
    status: str = intents.retrieve(reference).status
    return status


async def _reviewed_payment(operator: httpx.AsyncClient, stack: Stack) -> dict[str, Any]:
    """A payment a review rule of the account holds: answered ``under_review``."""
    customer_id, method_id = await card_customer(operator, stack.stripe_url, CARD_OK)
    rules = await operator.put(
        "/v1/admin/risk/rules",
        json={"rules": [{"action": "review", "when": {"customer_id": customer_id}}]},
    )
    assert rules.status_code == 200, rules.text
    response = await pay(operator, customer_id, method_id, amount=4999)
    assert response.status_code == 201, response.text
    payment: dict[str, Any] = response.json()
    return payment


async def test_a_reviewed_payment_is_authorized_only_until_approved_then_captured(
    operator: httpx.AsyncClient, stack: Stack
) -> None:
    payment = await _reviewed_payment(operator, stack)

    assert payment["status"] == "under_review"
    assert (payment["amount_capturable"], payment["amount_captured"]) == (4999, 0)
    assert payment["risk"]["decision"] == "review"
    assert "rule:0" in [factor["code"] for factor in payment["risk"]["factors"]]
    assert _intent_status(stack, payment["provider_reference"]) == "requires_capture"
    queue = (await operator.get("/v1/admin/reviews")).json()["data"]
    assert [(r["payment_id"], r["amount"]) for r in queue] == [(payment["id"], 4999)]
    assert queue[0]["expires_at"] > queue[0]["opened_at"]

    approved = await operator.post(f"/v1/admin/reviews/{payment['id']}/approve")

    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["amount_captured"]) == ("succeeded", 4999)
    assert _intent_status(stack, payment["provider_reference"]) == "succeeded"
    assert (await operator.get("/v1/admin/reviews")).json()["data"] == []
    audit = (await operator.get("/v1/admin/audit", params={"action": "review.approve"})).json()
    assert [entry["resource_id"] for entry in audit["data"]] == [payment["id"]]
    assert audit["data"][0]["request_id"] == approved.headers["X-Request-ID"]


async def test_a_rejected_review_voids_the_authorization(
    operator: httpx.AsyncClient, stack: Stack
) -> None:
    payment = await _reviewed_payment(operator, stack)

    rejected = await operator.post(
        f"/v1/admin/reviews/{payment['id']}/reject", json={"reason": "card testing"}
    )

    assert rejected.status_code == 200, rejected.text
    body = rejected.json()
    assert (body["status"], body["failure"]["code"], body["amount_captured"]) == (
        "failed",
        "review_rejected",
        0,
    )
    assert _intent_status(stack, payment["provider_reference"]) == "canceled"
    again = await operator.post(f"/v1/admin/reviews/{payment['id']}/approve")
    assert again.status_code == 409, again.text
    audit = (await operator.get("/v1/admin/audit", params={"resource_id": payment["id"]})).json()
    assert sorted(
        (entry["action"], entry["outcome"], entry["details"]["reason"])
        for entry in audit["data"]
        if entry["action"].startswith("review.")
    ) == [("review.approve", 409, None), ("review.reject", 200, "card testing")]
    assert [e["action"] for e in audit["data"] if not e["action"].startswith("review.")] == [
        "payment.create"
    ]


async def test_five_concurrent_600_dollar_payments_of_a_basic_customer_stop_at_the_day_limit(
    operator: httpx.AsyncClient, stack: Stack
) -> None:
    created = await operator.post(
        "/v1/customers", json={"email": "basic@example.com", "kyc_tier": "basic"}
    )
    customer_id = created.json()["id"]
    method_id = await saved_card(operator, stack.stripe_url, customer_id, CARD_OK)

    answers = await asyncio.gather(
        *(pay(operator, customer_id, method_id, amount=60_000) for _ in range(5))
    )

    assert [a.status_code for a in answers] == [201] * 5
    outcomes = sorted(
        (a.json()["status"], (a.json()["failure"] or {}).get("code")) for a in answers
    )
    assert outcomes == [("failed", "limit_exceeded")] * 2 + [("succeeded", None)] * 3
    limits = (await operator.get(f"/v1/customers/{customer_id}/limits")).json()
    assert limits["kyc_tier"] == "basic"
    assert limits["daily"] == {"limit": 200_000, "used": 180_000, "remaining": 20_000}
    above_single = await pay(operator, customer_id, method_id, amount=100_001)
    assert above_single.status_code == 422
    assert above_single.json()["code"] == "amount_exceeds_limit"


async def test_four_declined_payments_raise_one_open_failed_attempts_alert(
    operator: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(operator, stack.stripe_url, CARD_DECLINED)

    for _ in range(4):
        declined = await pay(operator, customer_id, method_id)
        assert declined.json()["failure"]["code"] == "card_declined"

    alerts = await operator.get(
        "/v1/admin/alerts",
        params={"customer_id": customer_id, "kind": "failed_attempts", "status": "open"},
    )
    assert [(a["kind"], a["severity"]) for a in alerts.json()["data"]] == [
        ("failed_attempts", "medium")
    ]
    assert declined.json()["risk"]["factors"][0]["code"] == "failed_attempts"


async def test_evaluate_answers_the_risk_a_payment_would_get_and_records_nothing(
    operator: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, _ = await card_customer(operator, stack.stripe_url, CARD_OK)

    evaluated = await operator.post(
        "/v1/risk/evaluate",
        json={"customer_id": customer_id, "amount": 1_500_000, "currency": "usd"},
    )

    assert evaluated.status_code == 200, evaluated.text
    risk = evaluated.json()
    assert [f["code"] for f in risk["factors"]] == ["large_amount", "new_customer"]
    assert (risk["score"], risk["level"], risk["decision"]) == (40, "elevated", "challenge")
    listed = await operator.get("/v1/payments", params={"customer_id": customer_id})
    assert listed.json()["data"] == []


async def test_a_blocked_payment_fails_with_nothing_sent_to_the_provider_and_alerts(
    operator: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(operator, stack.stripe_url, CARD_OK)
    await operator.put(
        "/v1/admin/risk/rules",
        json={"rules": [{"action": "block", "when": {"email_domain_in": ["example.com"]}}]},
    )

    response = await pay(operator, customer_id, method_id, amount=2500)

    assert response.status_code == 201, response.text
    payment = response.json()
    assert (payment["status"], payment["failure"]["code"]) == ("failed", "blocked_by_risk")
    assert (payment["provider_reference"], payment["risk"]["decision"]) == (None, "block")
    events = (await operator.get(f"/v1/payments/{payment['id']}/events")).json()["data"]
    assert [e["type"] for e in events] == ["payment.created", "risk.blocked"]
    alerts = await operator.get("/v1/admin/alerts", params={"customer_id": customer_id})
    assert [(a["kind"], a["severity"]) for a in alerts.json()["data"]] == [
        ("blocked_by_risk", "high")
    ]
    rules = (await operator.get("/v1/admin/risk/rules")).json()
    assert rules["rules"][0]["when"]["email_domain_in"] == ["example.com"]
    audit = (await operator.get("/v1/admin/audit", params={"action": "risk_rules.update"})).json()
    assert len(audit["data"]) == 1


async def test_a_challenge_at_paypal_is_reviewed_once_the_buyer_approves(
    operator: httpx.AsyncClient,
) -> None:
    customer_id = await new_customer(operator)
    await operator.put(
        "/v1/admin/risk/rules",
        json={"rules": [{"action": "challenge", "when": {"customer_id": customer_id}}]},
    )
    started = await pay(
        operator,
        customer_id,
        None,
        amount=2500,
        provider="paypal",
        return_url="https://shop.example/orders/1001",
    )
    payment = started.json()
    assert (payment["status"], payment["risk"]["decision"]) == ("requires_action", "review")
    assert "paypal_challenge" in [factor["code"] for factor in payment["risk"]["factors"]]

    buyer_clicks(payment["next_action"]["url"], "approve")
    held = await wait_for_status(operator, payment["id"], "under_review")
    approved = await operator.post(f"/v1/admin/reviews/{payment['id']}/approve")

    assert (held["amount_capturable"], held["amount_captured"]) == (2500, 0)
    assert (approved.json()["status"], approved.json()["amount_captured"]) == ("succeeded", 2500)
