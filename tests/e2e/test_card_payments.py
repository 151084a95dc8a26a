"""Card payments end to end: real API, real Temporal dev server, real localstripe, real database."""

from __future__ import annotations

import asyncio

import httpx
from stripe import StripeClient
from temporalio.api.enums.v1 import EventType

from tests.support.flows import (
    CARD_3DS,
    CARD_DECLINED,
    CARD_DECLINED_AT_ATTACH,
    CARD_OK,
    card_customer,
    new_customer,
    pay,
    wait_for_status,
)
from tests.support.localstripe import authenticate_3ds, create_card_payment_method
from tests.support.stack import Stack
from tests.support.webhooks import deliver, intent_event, stripe_signature


async def test_card_payment_succeeds_and_is_recorded(api: httpx.AsyncClient, stack: Stack) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)

    response = await pay(api, customer_id, method_id, amount=4999, currency="usd")

    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["status"] == "succeeded"
    assert payment["currency"] == "USD"
    assert payment["amount_captured"] == 4999
    assert payment["provider_reference"].startswith("pi_")
    stored = (await api.get(f"/v1/payments/{payment['id']}")).json()
    assert stored == payment
    events = (await api.get(f"/v1/payments/{payment['id']}/events")).json()["data"]
    assert [e["type"] for e in events] == [
        "payment.created",
        "provider.intent_created",
        "provider.confirmed",
    ]
    assert events[-1]["data"]["status"] == "succeeded"


async def test_an_automatic_card_payment_leaves_at_most_16_events_in_temporal(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    """Risk, the charge and its records run in the payment's first workflow task, the provider
    calls as local activities: what Temporal stores per payment (issue 19's target)."""
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)

    response = await pay(api, customer_id, method_id, amount=2500, currency="usd")

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "succeeded"
    history = await stack.client.get_workflow_handle(response.json()["id"]).fetch_history()
    kinds = [
        EventType.Name(event.event_type).removeprefix("EVENT_TYPE_") for event in history.events
    ]
    assert len(kinds) <= 16, f"{len(kinds)} events: {kinds}"
    assert "ACTIVITY_TASK_SCHEDULED" not in kinds, kinds
    assert kinds[-2:] == ["TIMER_STARTED", "WORKFLOW_EXECUTION_UPDATE_COMPLETED"], kinds


async def test_a_description_reaches_the_provider(api: httpx.AsyncClient, stack: Stack) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)

    response = await pay(api, customer_id, method_id, description="Order 1042")

    assert response.status_code == 201, response.text
    assert (response.json()["status"], response.json()["description"]) == (
        "succeeded",
        "Order 1042",
    )
    intent = StripeClient("sk_test_x", base_addresses={"api": stack.stripe_url}).v1.payment_intents
    assert intent.retrieve(response.json()["provider_reference"]).description == "Order 1042"


async def test_declined_card_is_a_failed_payment_not_an_error(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_DECLINED)

    response = await pay(api, customer_id, method_id)

    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["status"] == "failed"
    assert payment["failure"]["code"] == "card_declined"
    assert payment["amount_captured"] == 0
    listed = (await api.get("/v1/payments", params={"customer_id": customer_id})).json()
    assert [p["id"] for p in listed["data"]] == [payment["id"]]


async def test_card_declined_at_attach_is_402(api: httpx.AsyncClient, stack: Stack) -> None:
    customer_id = await new_customer(api)
    token = create_card_payment_method(stack.stripe_url, CARD_DECLINED_AT_ATTACH)

    response = await api.post(
        f"/v1/customers/{customer_id}/payment-methods", json={"provider": "stripe", "token": token}
    )

    assert response.status_code == 402
    assert response.json()["code"] == "payment_method_declined"
    methods = (await api.get(f"/v1/customers/{customer_id}/payment-methods")).json()["data"]
    assert methods == []


async def test_unknown_token_is_invalid_payment_method(api: httpx.AsyncClient) -> None:
    customer_id = await new_customer(api)

    response = await api.post(
        f"/v1/customers/{customer_id}/payment-methods",
        json={"provider": "stripe", "token": "pm_doesnotexist"},
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_payment_method"


async def test_3ds_success_completes_through_the_webhook(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_3DS)

    response = await pay(api, customer_id, method_id)

    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["status"] == "requires_action"
    assert payment["next_action"]["type"] == "stripe_sdk"
    secret = payment["next_action"]["client_secret"]
    authenticate_3ds(stack.stripe_url, payment["provider_reference"], secret, success=True)
    settled = await wait_for_status(api, payment["id"], "succeeded")
    assert settled["amount_captured"] == payment["amount"]
    assert settled["next_action"] is None
    events = (await api.get(f"/v1/payments/{payment['id']}/events")).json()["data"]
    assert events[-1]["type"] == "provider.webhook"


async def test_3ds_failure_fails_the_payment(api: httpx.AsyncClient, stack: Stack) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_3DS)
    payment = (await pay(api, customer_id, method_id)).json()
    assert payment["status"] == "requires_action"

    authenticate_3ds(
        stack.stripe_url,
        payment["provider_reference"],
        payment["next_action"]["client_secret"],
        success=False,
    )
    event = intent_event(
        f"evt_{payment['id']}",
        "payment_intent.payment_failed",
        payment["id"],
        payment["provider_reference"],
    )
    secret = stack.settings.stripe_webhook_secret.get_secret_value()
    delivered = await deliver(stack.api_url, event, stripe_signature(event, secret))
    assert delivered.status_code == 200

    failed = await wait_for_status(api, payment["id"], "failed")
    assert failed["failure"]["code"] == "authentication_failed"
    assert failed["amount_captured"] == 0


async def test_manual_capture_partial(api: httpx.AsyncClient, stack: Stack) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    payment = (await pay(api, customer_id, method_id, amount=10000, capture_method="manual")).json()
    assert payment["status"] == "requires_capture"
    assert payment["amount_capturable"] == 10000

    too_much = await api.post(
        f"/v1/payments/{payment['id']}/capture",
        json={"amount": 10001},
        headers={"Idempotency-Key": "cap-too-much"},
    )
    assert too_much.status_code == 422
    assert too_much.json()["code"] == "amount_exceeds_capturable"

    captured = await api.post(
        f"/v1/payments/{payment['id']}/capture",
        json={"amount": 6000},
        headers={"Idempotency-Key": "cap-1"},
    )
    assert captured.status_code == 200, captured.text
    body = captured.json()
    assert (body["status"], body["amount_captured"], body["amount_capturable"]) == (
        "succeeded",
        6000,
        0,
    )
    again = await api.post(
        f"/v1/payments/{payment['id']}/capture",
        json={"amount": 6000},
        headers={"Idempotency-Key": "cap-1"},
    )
    assert again.status_code == 200
    assert again.json()["amount_captured"] == 6000
    second = await api.post(
        f"/v1/payments/{payment['id']}/capture",
        json={"amount": 1000},
        headers={"Idempotency-Key": "cap-2"},
    )
    assert second.status_code == 409
    assert second.json()["code"] == "invalid_state"
    refund_all = await api.post(
        f"/v1/payments/{payment['id']}/refunds", headers={"Idempotency-Key": "r-all"}
    )
    assert refund_all.status_code == 201
    assert refund_all.json()["amount"] == 6000


async def test_manual_capture_cancel(api: httpx.AsyncClient, stack: Stack) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    payment = (await pay(api, customer_id, method_id, capture_method="manual")).json()

    canceled = await api.post(f"/v1/payments/{payment['id']}/cancel")

    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled"
    stripe = StripeClient("sk_test_x", base_addresses={"api": stack.stripe_url})
    intent = stripe.v1.payment_intents.retrieve(payment["provider_reference"])
    assert intent.status == "canceled"
    refused = await api.post(
        f"/v1/payments/{payment['id']}/capture", headers={"Idempotency-Key": "late"}
    )
    assert refused.status_code in (409,)


async def test_refunds_never_exceed_the_captured_amount(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    payment = (await pay(api, customer_id, method_id, amount=10000)).json()
    url = f"/v1/payments/{payment['id']}/refunds"

    first = await api.post(url, json={"amount": 3000}, headers={"Idempotency-Key": "r1"})
    second = await api.post(url, json={"amount": 2000}, headers={"Idempotency-Key": "r2"})
    over = await api.post(url, json={"amount": 5001}, headers={"Idempotency-Key": "r3"})
    rest = await api.post(url, headers={"Idempotency-Key": "r4"})

    assert (first.status_code, second.status_code, rest.status_code) == (201, 201, 201)
    assert over.status_code == 422
    assert over.json()["code"] == "refund_exceeds_available"
    assert rest.json()["amount"] == 5000
    replay = await api.post(url, json={"amount": 3000}, headers={"Idempotency-Key": "r1"})
    assert replay.json()["id"] == first.json()["id"]
    reused = await api.post(url, json={"amount": 100}, headers={"Idempotency-Key": "r1"})
    assert reused.status_code == 409
    assert reused.json()["code"] == "idempotency_key_reused"
    stored = (await api.get(f"/v1/payments/{payment['id']}")).json()
    assert stored["amount_refunded"] == 10000
    refunds = (await api.get(url)).json()["data"]
    assert sorted(r["amount"] for r in refunds) == [2000, 3000, 5000]


async def test_concurrent_refunds_never_exceed_the_captured_amount(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    payment = (await pay(api, customer_id, method_id, amount=10000)).json()
    url = f"/v1/payments/{payment['id']}/refunds"

    responses = await asyncio.gather(
        *(
            api.post(url, json={"amount": 2500}, headers={"Idempotency-Key": f"c{i}"})
            for i in range(10)
        )
    )

    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 4 + [422] * 6
    stored = (await api.get(f"/v1/payments/{payment['id']}")).json()
    assert stored["amount_refunded"] == 10000
    stripe = StripeClient("sk_test_x", base_addresses={"api": stack.stripe_url})
    refunds = stripe.v1.refunds.list({"payment_intent": payment["provider_reference"]})
    assert sum(r.amount for r in refunds.data) == 10000


async def test_payment_without_saved_method_is_a_checkout(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    """No saved method: the client collects the card with Stripe.js using the client secret."""
    customer_id = await new_customer(api)

    response = await pay(api, customer_id, None, amount=2000, currency="eur")

    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["status"] == "requires_action"
    assert payment["next_action"]["type"] == "stripe_sdk"
    assert payment["next_action"]["client_secret"].startswith(payment["provider_reference"])
    canceled = await api.post(f"/v1/payments/{payment['id']}/cancel")
    assert canceled.json()["status"] == "canceled"
