"""Reconciliation through the admin API on the whole stack: a run started now lists what
localstripe and the PayPal sandbox hold, reports a charge made at localstripe outside Durapay with
a ``reconciliation_drift`` alert, cancels an unconfirmed intent a repeated create left behind, and
leaves Durapay's own payments alone; stored webhooks that matched no payment are delivered
again to the payment they match now."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from stripe import StripeClient

from db.models import WebhookEvent
from db.repositories import webhook_events as webhook_events_repo
from settings import DEV_ADMIN_KEY
from tests.support.flows import CARD_OK, card_customer, pay
from tests.support.localstripe import create_card_payment_method
from tests.support.polling import eventually
from tests.support.stack import Stack

ADMIN = {"Authorization": f"Bearer {DEV_ADMIN_KEY}"}


def localstripe(stack: Stack) -> StripeClient:
    return StripeClient(
        "sk_test_outside", base_addresses={"api": stack.stripe_url}, max_network_retries=0
    )


def charge_outside_durapay(stack: Stack, amount: int) -> tuple[str, str]:
    """Someone with the Stripe key charges a card directly: Durapay never hears of it."""
    method = create_card_payment_method(stack.stripe_url, CARD_OK)
    client = localstripe(stack)
    intent = client.v1.payment_intents.create(
        {"amount": amount, "currency": "usd", "payment_method": method}
    )
    confirmed = client.v1.payment_intents.confirm(intent.id)
    assert confirmed.status == "succeeded"
    charge = confirmed.latest_charge
    assert charge is not None
    return intent.id, charge if isinstance(charge, str) else charge.id


async def finished_run(api: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    async def runs() -> list[dict[str, Any]]:
        response = await api.get("/v1/admin/reconciliation/runs", headers=ADMIN)
        assert response.status_code == 200, response.text
        listed: list[dict[str, Any]] = response.json()["data"]
        return listed

    listed = await eventually(
        runs,
        lambda data: any(r["id"] == run_id and r["finished_at"] is not None for r in data),
        timeout=60,
    )
    (run,) = [r for r in listed if r["id"] == run_id]
    return run


async def test_a_run_started_by_api_reports_a_charge_no_payment_owns_with_an_alert(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    ours = (await pay(api, customer_id, method_id, amount=2500)).json()
    assert ours["status"] == "succeeded"
    intent_id, charge_id = charge_outside_durapay(stack, 1234)

    started = await api.post("/v1/admin/reconciliation/runs", headers=ADMIN)
    assert started.status_code == 202, started.text
    run = await finished_run(api, started.json()["id"])

    assert run["checked"] >= 4
    unowned = [d for d in run["drift"] if d["reference"] == charge_id]
    assert unowned == [
        {
            "kind": "unowned_charge",
            "action": "alerted",
            "provider": "stripe",
            "reference": charge_id,
            "amount": 1234,
            "currency": "USD",
            "payment_id": None,
            "account_id": None,
            "provider_status": "succeeded",
            "recorded_status": "",
        }
    ]
    flagged = {d["reference"] for d in run["drift"]}
    assert ours["provider_reference"] not in flagged
    assert intent_id not in flagged
    alerts = (
        await api.get("/v1/admin/alerts", params={"kind": "reconciliation_drift"}, headers=ADMIN)
    ).json()["data"]
    (alert,) = [a for a in alerts if charge_id in a["detail"]]
    assert alert["severity"] == "high"
    assert "unowned_charge" in alert["detail"] and "1234" in alert["detail"]


async def test_an_unconfirmed_intent_left_by_a_repeated_create_is_canceled(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    ours = (await pay(api, customer_id, method_id, amount=3100)).json()
    assert ours["status"] == "succeeded"
    orphan = localstripe(stack).v1.payment_intents.create(
        {"amount": 3100, "currency": "usd", "metadata": {"durapay_payment_id": ours["id"]}}
    )

    started = await api.post("/v1/admin/reconciliation/runs", headers=ADMIN)
    run = await finished_run(api, started.json()["id"])

    (drift,) = [d for d in run["drift"] if d["reference"] == orphan.id]
    assert (drift["kind"], drift["action"], drift["payment_id"]) == (
        "orphan_intent",
        "canceled",
        ours["id"],
    )
    assert localstripe(stack).v1.payment_intents.retrieve(orphan.id).status == "canceled"
    assert localstripe(stack).v1.payment_intents.retrieve(ours["provider_reference"]).status == (
        "succeeded"
    )


async def test_a_stored_event_that_matched_nothing_is_delivered_again(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    ours = (await pay(api, customer_id, method_id, amount=1800)).json()
    event_id = f"evt_{uuid.uuid4().hex[:16]}"
    async with stack.sessions() as session, session.begin():
        await webhook_events_repo.store_webhook_event(
            session,
            provider="stripe",
            event_id=event_id,
            type="payment_intent.succeeded",
            payload={
                "id": event_id,
                "data": {"object": {"object": "payment_intent", "id": ours["provider_reference"]}},
            },
            received_at=datetime.now(UTC),
        )
        await webhook_events_repo.mark_webhook_event(
            session,
            provider="stripe",
            event_id=event_id,
            outcome="unmatched",
            processed_at=datetime.now(UTC),
        )

    started = await api.post("/v1/admin/reconciliation/runs", headers=ADMIN)
    run = await finished_run(api, started.json()["id"])

    (redelivered,) = [d for d in run["drift"] if d["reference"] == event_id]
    assert (redelivered["kind"], redelivered["action"], redelivered["payment_id"]) == (
        "unmatched_event",
        "redelivered",
        ours["id"],
    )
    async with stack.sessions() as session:
        outcome = await session.scalar(
            select(WebhookEvent.outcome).where(WebhookEvent.event_id == event_id)
        )
    assert outcome == "redelivered"


async def test_a_refund_made_outside_durapay_is_alerted_and_durapays_own_is_not(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    ours = (await pay(api, customer_id, method_id, amount=2200)).json()
    recorded = await api.post(
        f"/v1/payments/{ours['id']}/refunds",
        json={"amount": 200},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert recorded.status_code == 201, recorded.text
    outside = localstripe(stack).v1.refunds.create(
        {"payment_intent": ours["provider_reference"], "amount": 300}
    )

    started = await api.post("/v1/admin/reconciliation/runs", headers=ADMIN)
    run = await finished_run(api, started.json()["id"])

    (drift,) = [d for d in run["drift"] if d["reference"] == outside.id]
    assert (drift["kind"], drift["action"], drift["payment_id"], drift["amount"]) == (
        "unowned_refund",
        "alerted",
        ours["id"],
        300,
    )
    refunds_flagged = [
        d for d in run["drift"] if d["kind"] == "unowned_refund" and d["payment_id"] == ours["id"]
    ]
    assert refunds_flagged == [drift]
