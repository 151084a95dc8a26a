"""Fifty requests at once on one money object: one Idempotency-Key makes one payment and one
charge, and fifty refunds asking for more than was captured never refund more than was captured.
Both end in a reconciliation against localstripe, since the API's answers alone could agree with
each other while the provider holds something else."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx

from tests.chaos.reconcile import reconcile
from tests.support.flows import CARD_OK, card_customer, new_key, pay
from tests.support.localstripe import intent_statuses
from tests.support.stack import Stack

CONCURRENCY = 50
AMOUNT = 4999
REFUND = 150
"""Fifty refunds of 150 ask for 7500 of 4999: 33 fit, 17 must be refused."""


async def test_fifty_concurrent_requests_with_one_key_make_one_payment(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    key = new_key()

    responses = await asyncio.gather(
        *(pay(api, customer_id, method_id, amount=AMOUNT, key=key) for _ in range(CONCURRENCY))
    )

    statuses = Counter(response.status_code for response in responses)
    assert set(statuses) <= {200, 201, 202}, [r.text for r in responses if r.status_code >= 300]
    assert statuses[201] <= 1, statuses
    assert len({response.json()["id"] for response in responses}) == 1
    payment_id = responses[0].json()["id"]
    listed = (await api.get("/v1/payments", params={"customer_id": customer_id})).json()["data"]
    assert [payment["id"] for payment in listed] == [payment_id]
    assert intent_statuses(stack.stripe_url, payment_id) == ["succeeded"]
    await reconcile(stack, [payment_id])


async def test_fifty_concurrent_refunds_never_exceed_the_captured_amount(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    paid = await pay(api, customer_id, method_id, amount=AMOUNT)
    assert paid.status_code == 201, paid.text
    payment_id = paid.json()["id"]

    responses = await asyncio.gather(
        *(
            api.post(
                f"/v1/payments/{payment_id}/refunds",
                json={"amount": REFUND},
                headers={"Idempotency-Key": new_key()},
            )
            for _ in range(CONCURRENCY)
        )
    )

    accepted = [r.json() for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code != 201]
    assert all(r.status_code in (409, 422) for r in refused), [r.text for r in refused]
    assert all(r.headers["content-type"] == "application/problem+json" for r in refused)
    assert {r.json()["code"] for r in refused} <= {"refund_exceeds_available", "invalid_state"}
    assert len(accepted) == AMOUNT // REFUND, (len(accepted), [r.text for r in refused][:3])
    assert {refund["status"] for refund in accepted} <= {"pending", "succeeded"}

    payment = await _when_refunds_settle(api, payment_id)
    refunds = (await api.get(f"/v1/payments/{payment_id}/refunds")).json()["data"]
    assert sorted(refund["id"] for refund in refunds) == sorted(r["id"] for r in accepted)
    assert {refund["status"] for refund in refunds} == {"succeeded"}
    assert payment["amount_refunded"] == len(accepted) * REFUND <= payment["amount_captured"]
    await reconcile(stack, [payment_id])


async def _when_refunds_settle(
    api: httpx.AsyncClient, payment_id: str, timeout: float = 60
) -> dict[str, Any]:
    """The payment once none of its refunds is pending (a refund answers 201 before the provider
    has confirmed it when the provider is slow)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        refunds = (await api.get(f"/v1/payments/{payment_id}/refunds")).json()["data"]
        if all(refund["status"] != "pending" for refund in refunds):
            payment: dict[str, Any] = (await api.get(f"/v1/payments/{payment_id}")).json()
            return payment
        assert asyncio.get_running_loop().time() < deadline, f"refunds still pending: {refunds}"
        await asyncio.sleep(0.2)
