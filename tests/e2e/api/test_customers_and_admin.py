"""Saved payment methods over their lifetime, and the admin role boundary."""

from __future__ import annotations

import httpx

from settings import DEV_ADMIN_KEY
from tests.support.flows import CARD_OK, new_customer, pay, saved_card
from tests.support.stack import Stack


async def test_payment_methods_default_and_soft_delete(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id = await new_customer(api)
    first = await saved_card(api, stack.stripe_url, customer_id, CARD_OK)
    second = await saved_card(api, stack.stripe_url, customer_id, "5555555555554444")
    url = f"/v1/customers/{customer_id}/payment-methods"

    listed = (await api.get(url)).json()["data"]
    assert [(m["id"], m["is_default"]) for m in listed] == [(second, False), (first, True)]
    assert {m["last4"] for m in listed} == {"4242", "4444"}
    assert (await api.post(f"{url}/{second}/default")).json()["is_default"] is True
    paid = (await pay(api, customer_id, first)).json()
    deleted = await api.delete(f"{url}/{first}")

    assert deleted.status_code == 200
    assert [m["id"] for m in (await api.get(url)).json()["data"]] == [second]
    refused = await pay(api, customer_id, first)
    assert refused.status_code == 422
    assert refused.json()["code"] == "payment_method_not_found"
    history = (await api.get(f"/v1/payments/{paid['id']}")).json()
    assert history["payment_method_id"] == first


async def test_customer_of_another_account_is_not_found(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/customers/cus_not_mine")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_admin_routes_need_the_admin_role(api: httpx.AsyncClient, stack: Stack) -> None:
    as_client = await api.get("/v1/admin/stats")
    async with httpx.AsyncClient(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {DEV_ADMIN_KEY}"}
    ) as admin:
        as_admin = await admin.get("/v1/admin/stats")

    assert as_client.status_code == 403
    assert as_client.json()["code"] == "forbidden"
    assert as_admin.status_code == 200
    totals = as_admin.json()["payments"]
    assert all(isinstance(row["amount"], int) for row in totals)
