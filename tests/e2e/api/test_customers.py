"""Customers over HTTP against the real stack: a retried create, finding one by email, changing
one, exporting what Durapay holds about them, and erasing them while their money records stay."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.e2e.api.test_subscriptions import subscribe
from tests.support.flows import CARD_OK, new_key, pay, saved_card
from tests.support.localstripe import create_card_payment_method
from tests.support.stack import Stack


def unique_email() -> str:
    return f"ada-{uuid.uuid4().hex[:10]}@example.com"


async def create(api: httpx.AsyncClient, key: str | None = None, **body: Any) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return await api.post("/v1/customers", json={"email": unique_email(), **body}, headers=headers)


async def test_a_retry_with_the_same_key_returns_the_same_customer(
    api: httpx.AsyncClient,
) -> None:
    key, email = new_key(), unique_email()
    body = {"email": email, "name": "Ada", "kyc_tier": "basic", "metadata": {"crm": "42"}}

    first = await api.post("/v1/customers", json=body, headers={"Idempotency-Key": key})
    again = await api.post("/v1/customers", json=body, headers={"Idempotency-Key": key})
    other_body = await api.post(
        "/v1/customers", json={**body, "name": "Grace"}, headers={"Idempotency-Key": key}
    )
    found = await api.get("/v1/customers", params={"email": email})

    assert first.status_code == 201, first.text
    assert again.status_code == 200
    assert again.json() == first.json()
    assert first.json()["kyc_tier"] == "basic"
    assert first.json()["erased_at"] is None
    assert (other_body.status_code, other_body.json()["code"]) == (409, "idempotency_key_reused")
    assert [c["id"] for c in found.json()["data"]] == [first.json()["id"]]


async def test_without_a_key_every_create_is_a_new_customer(api: httpx.AsyncClient) -> None:
    email = unique_email()

    one = await api.post("/v1/customers", json={"email": email})
    two = await api.post("/v1/customers", json={"email": email})

    assert (one.status_code, two.status_code) == (201, 201)
    assert one.json()["id"] != two.json()["id"]


async def test_list_by_email_newest_first_in_pages(api: httpx.AsyncClient) -> None:
    email = unique_email()
    ids = [(await api.post("/v1/customers", json={"email": email})).json()["id"] for _ in range(3)]
    other = (await create(api)).json()["id"]

    page = await api.get("/v1/customers", params={"email": email, "limit": 2})
    rest = await api.get(
        "/v1/customers",
        params={"email": email, "limit": 2, "starting_after": page.json()["data"][-1]["id"]},
    )
    everyone = await api.get("/v1/customers", params={"limit": 1})

    assert page.status_code == 200, page.text
    assert [c["id"] for c in page.json()["data"]] == ids[:0:-1]
    assert page.json()["has_more"] is True
    assert ([c["id"] for c in rest.json()["data"]], rest.json()["has_more"]) == ([ids[0]], False)
    assert [c["id"] for c in everyone.json()["data"]] == [other]


async def test_patch_changes_only_what_is_sent(api: httpx.AsyncClient) -> None:
    created = (await create(api, name="Ada", metadata={"crm": "42"})).json()
    url = f"/v1/customers/{created['id']}"
    new_email = unique_email()

    changed = await api.patch(url, json={"email": new_email, "kyc_tier": "advanced"})
    cleared = await api.patch(url, json={"name": None, "metadata": {}, "kyc_tier": None})
    null_email = await api.patch(url, json={"email": None})
    bad_tier = await api.patch(url, json={"kyc_tier": "platinum"})

    assert changed.status_code == 200, changed.text
    assert changed.json() == {**created, "email": new_email, "kyc_tier": "advanced"}
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["name"], cleared.json()["metadata"], cleared.json()["kyc_tier"]) == (
        None,
        {},
        None,
    )
    assert cleared.json()["email"] == new_email
    assert (null_email.status_code, null_email.json()["code"]) == (422, "validation_error")
    assert (bad_tier.status_code, bad_tier.json()["code"]) == (422, "validation_error")
    assert (await api.get(url)).json() == cleared.json()


async def test_the_export_holds_the_customers_payments_and_subscriptions(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer = (await create(api, name="Ada")).json()
    method = await saved_card(api, stack.stripe_url, customer["id"], CARD_OK)
    payment = (await pay(api, customer["id"], method)).json()
    refund = await api.post(
        f"/v1/payments/{payment['id']}/refunds",
        json={"amount": 100},
        headers={"Idempotency-Key": new_key()},
    )
    subscription = await subscribe(api, customer["id"], payment_method_id=method, trial_days=0)
    assert subscription.status_code == 201, subscription.text

    exported = await api.get(f"/v1/customers/{customer['id']}/export")

    assert exported.status_code == 200, exported.text
    data = exported.json()
    assert data["customer"] == customer
    assert data["stripe_customer_id"].startswith("cus_")
    assert [m["id"] for m in data["payment_methods"]] == [method]
    assert payment["id"] in {p["id"] for p in data["payments"]}
    assert [r["id"] for r in data["refunds"]] == [refund.json()["id"]]
    assert [s["id"] for s in data["subscriptions"]] == [subscription.json()["id"]]
    assert [i["id"] for i in data["invoices"]] == [subscription.json()["latest_invoice_id"]]
    assert sorted(m["template"] for m in data["mails"]) == ["invoice_opened", "invoice_paid"]


async def test_erasure_keeps_the_money_and_forgets_the_person(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    email = unique_email()
    customer = (await create(api, name="Ada", metadata={"crm": "42"}, email=email)).json()
    url = f"/v1/customers/{customer['id']}"
    method = await saved_card(api, stack.stripe_url, customer["id"], CARD_OK)
    payment = (await pay(api, customer["id"], method)).json()
    subscription = (
        await subscribe(api, customer["id"], payment_method_id=method, trial_days=0)
    ).json()

    as_client = await api.post(f"{url}/erase")
    while_subscribed = await admin.post(f"{url}/erase")
    assert (await api.post(f"/v1/subscriptions/{subscription['id']}/cancel")).status_code == 200
    erased = await admin.post(f"{url}/erase")
    again = await admin.post(f"{url}/erase")

    assert (as_client.status_code, as_client.json()["code"]) == (403, "forbidden")
    assert (while_subscribed.status_code, while_subscribed.json()["code"]) == (
        409,
        "invalid_state",
    )
    assert subscription["id"] in while_subscribed.json()["detail"]
    assert erased.status_code == 200, erased.text
    assert erased.json()["email"] is None
    assert erased.json()["name"] is None
    assert erased.json()["metadata"] == {}
    assert erased.json()["erased_at"] is not None
    assert again.json() == erased.json()
    assert (await api.get(url)).json() == erased.json()
    assert (await api.get("/v1/customers", params={"email": email})).json()["data"] == []
    kept = await api.get(f"/v1/payments/{payment['id']}")
    assert (kept.status_code, kept.json()["customer_id"]) == (200, customer["id"])
    assert email not in (await api.get(f"{url}/export")).text

    refused = [
        await pay(api, customer["id"], method),
        await subscribe(api, customer["id"], plan_id="free"),
        await api.patch(url, json={"email": email}),
        await api.post(
            f"{url}/payment-methods",
            json={
                "provider": "stripe",
                "token": create_card_payment_method(stack.stripe_url, CARD_OK),
            },
        ),
    ]
    assert [(r.status_code, r.json()["code"]) for r in refused] == [(409, "invalid_state")] * 4
    assert "erased" in refused[0].json()["detail"]


async def test_another_accounts_customer_is_not_found(
    api: httpx.AsyncClient, stranger: httpx.AsyncClient
) -> None:
    customer = (await create(api)).json()
    url = f"/v1/customers/{customer['id']}"

    answers = [
        await stranger.get(url),
        await stranger.patch(url, json={"name": "Mallory"}),
        await stranger.get(f"{url}/export"),
    ]
    listed = await stranger.get("/v1/customers", params={"email": customer["email"]})

    assert [(r.status_code, r.json()["code"]) for r in answers] == [(404, "not_found")] * 3
    assert listed.json()["data"] == []
    assert (await api.get(url)).json() == customer


async def test_saving_a_deleted_method_again_restores_it(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id = (await create(api)).json()["id"]
    token = create_card_payment_method(stack.stripe_url, CARD_OK)
    url = f"/v1/customers/{customer_id}/payment-methods"
    saved = await api.post(url, json={"provider": "stripe", "token": token})
    method_id = saved.json()["id"]
    assert (await api.delete(f"{url}/{method_id}")).status_code == 200
    assert (await pay(api, customer_id, method_id)).status_code == 422

    again = await api.post(url, json={"provider": "stripe", "token": token})
    paid = await pay(api, customer_id, method_id)

    assert again.status_code == 201, again.text
    assert again.json()["id"] == method_id
    assert again.json()["is_default"] is True
    assert [m["id"] for m in (await api.get(url)).json()["data"]] == [method_id]
    assert paid.status_code == 201, paid.text
    assert paid.json()["status"] == "succeeded"


async def test_a_stripe_token_where_a_saved_method_belongs_is_named(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id = (await create(api)).json()["id"]
    token = create_card_payment_method(stack.stripe_url, CARD_OK)
    unsaved = await pay(api, customer_id, token)
    method_id = await saved_card(api, stack.stripe_url, customer_id, CARD_OK)
    other_token = create_card_payment_method(stack.stripe_url, CARD_OK)
    await api.post(
        f"/v1/customers/{customer_id}/payment-methods",
        json={"provider": "stripe", "token": other_token},
    )
    saved_token = await subscribe(api, customer_id, payment_method_id=other_token)

    assert (unsaved.status_code, unsaved.json()["code"]) == (422, "payment_method_not_found")
    assert "Stripe PaymentMethod" in unsaved.json()["detail"]
    assert f"POST /v1/customers/{customer_id}/payment-methods" in unsaved.json()["detail"]
    assert (saved_token.status_code, saved_token.json()["code"]) == (
        422,
        "invalid_payment_method",
    )
    assert "use its saved payment method id pm_" in saved_token.json()["detail"]
    assert method_id not in saved_token.json()["detail"]
