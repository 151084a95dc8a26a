"""Payment links over HTTP: a token shown once and stored hashed, one payment per link, a failed
attempt that leaves the link open, 404 for unknown tokens and 410 for spent links, every use
audited with the caller's IP and user agent."""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from db.models import PaymentLink
from services.links import hash_token
from tests.support.flows import (
    CARD_DECLINED,
    CARD_OK,
    card_customer,
    new_customer,
    new_key,
    pay,
)
from tests.support.localstripe import create_card_payment_method
from tests.support.stack import Stack

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) DurapayTests/1.0"


async def new_link(api: httpx.AsyncClient, customer_id: str, **extra: Any) -> dict[str, Any]:
    body = {"customer_id": customer_id, "amount": 2500, "currency": "usd", **extra}
    body = {name: value for name, value in body.items() if value is not None}
    response = await api.post(
        "/v1/payment-links", json=body, headers={"Idempotency-Key": new_key()}
    )
    assert response.status_code == 201, response.text
    link: dict[str, Any] = response.json()
    return link


def token_of(link: dict[str, Any]) -> str:
    return str(link["url"]).rsplit("/pay/", 1)[1]


def public(stack: Stack) -> httpx.AsyncClient:
    """A customer's browser: no API key."""
    return httpx.AsyncClient(base_url=stack.api_url, headers={"User-Agent": BROWSER}, timeout=30)


async def pay_by_card(customer: httpx.AsyncClient, stack: Stack, token: str, number: str) -> Any:
    """What the payment page does after Stripe.js made a PaymentMethod of the typed card."""
    base = f"/v1/public/payment/{token}"
    pm = create_card_payment_method(stack.stripe_url, number)
    saved = await customer.post(f"{base}/methods", json={"provider": "stripe", "token": pm})
    assert saved.status_code == 201, saved.text
    return await customer.post(f"{base}/intent", json={"payment_method_id": saved.json()["id"]})


async def test_a_link_shows_its_token_once_and_keeps_only_its_hash(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id = await new_customer(api, "grace@example.com")
    key = new_key()
    body = {"customer_id": customer_id, "amount": 1250, "currency": "eur", "description": "Tea"}

    created = await api.post("/v1/payment-links", json=body, headers={"Idempotency-Key": key})
    again = await api.post("/v1/payment-links", json=body, headers={"Idempotency-Key": key})
    other = await api.post(
        "/v1/payment-links", json={**body, "amount": 1}, headers={"Idempotency-Key": key}
    )

    assert created.status_code == 201, created.text
    link = created.json()
    assert link["id"].startswith("plink_") and link["status"] == "active"
    assert link["url"].startswith(f"{stack.settings.api_base_url}/pay/")
    token = token_of(link)
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    expires_at = datetime.fromisoformat(link["expires_at"])
    assert timedelta(days=6, hours=23) < expires_at - datetime.now(UTC) <= timedelta(days=7)
    assert (again.status_code, again.json()["id"], again.json()["url"]) == (200, link["id"], None)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    async with stack.sessions() as session:
        stored = await session.scalar(select(PaymentLink).where(PaymentLink.id == link["id"]))
    assert stored is not None and stored.token_hash == hash_token(token)
    assert token not in str(vars(stored))

    async with public(stack) as customer:
        due = await customer.get(f"/v1/public/payment/{token}")
    assert due.status_code == 200, due.text
    assert {k: due.json()[k] for k in ("amount", "currency", "amount_display", "description")} == {
        "amount": 1250,
        "currency": "EUR",
        "amount_display": "12.50 EUR",
        "description": "Tea",
    }
    assert due.json()["customer_email"] == "g***@example.com"
    assert due.json()["merchant_name"] == stack.settings.merchant_name


async def test_the_page_sends_no_referer_cannot_be_framed_and_loads_the_stand_ins_stripe_js(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    link = await new_link(api, await new_customer(api))

    async with public(stack) as customer:
        page = await customer.get(link["url"])

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert f"script-src 'self' {stack.stripe_url}" in policy
    assert f'<script src="{stack.stripe_url}/js.stripe.com/v3/"></script>' in page.text


async def test_a_link_pays_once_then_answers_link_used(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    link = await new_link(api, await new_customer(api))
    token = token_of(link)

    async with public(stack) as customer:
        paid = await pay_by_card(customer, stack, token, CARD_OK)
        after = await customer.get(f"/v1/public/payment/{token}")
        intent_again = await customer.post(f"/v1/public/payment/{token}/intent", json={})
        history = await customer.get(f"/v1/public/payment/{token}/history")

    assert paid.status_code == 200, paid.text
    assert (paid.json()["status"], paid.json()["amount"]) == ("succeeded", 2500)
    assert after.status_code == 410 and after.json()["code"] == "link_used"
    assert after.json()["receipt"]["payment_id"] == paid.json()["id"]
    assert after.json()["receipt"]["amount_display"] == "25.00 USD"
    assert intent_again.status_code == 410 and intent_again.json()["code"] == "link_used"
    assert history.status_code == 410
    merchant_view = (await api.get(f"/v1/payment-links/{link['id']}")).json()
    assert (merchant_view["status"], merchant_view["payment_id"]) == ("used", paid.json()["id"])
    payments = (await api.get("/v1/payments", params={"customer_id": link["customer_id"]})).json()
    assert [p["id"] for p in payments["data"]] == [paid.json()["id"]]

    audit = (await admin.get("/v1/admin/audit", params={"resource_id": link["id"]})).json()
    uses = [e for e in audit["data"] if e["actor"]["type"] == "public_token"]
    assert {(e["action"], e["outcome"]) for e in uses} >= {
        ("payment_link.intent", 200),
        ("payment_link.view", 410),
        ("payment_link.intent", 410),
    }
    assert all(e["actor"]["id"] == link["id"] and e["ip"] == "127.0.0.1" for e in uses)
    assert all(e["details"] == {"ip": "127.0.0.1", "user_agent": BROWSER} for e in uses)
    created = [e for e in audit["data"] if e["action"] == "payment_link.create"]
    assert [(e["actor"]["type"], e["outcome"]) for e in created] == [("api_key", 201)]
    assert token not in str(audit)


async def test_a_declined_card_leaves_the_link_open_for_another(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    link = await new_link(api, await new_customer(api))
    token = token_of(link)

    async with public(stack) as customer:
        declined = await pay_by_card(customer, stack, token, CARD_DECLINED)
        still_open = await customer.get(f"/v1/public/payment/{token}")
        paid = await pay_by_card(customer, stack, token, CARD_OK)

    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "failed"
    assert declined.json()["failure"]["code"] == "card_declined"
    assert still_open.status_code == 200
    assert still_open.json()["payment"]["id"] == declined.json()["id"]
    assert paid.json()["status"] == "succeeded"
    assert paid.json()["id"] != declined.json()["id"]


async def test_a_repeated_intent_returns_the_payment_under_way(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    link = await new_link(api, await new_customer(api))
    token = token_of(link)

    async with public(stack) as customer:
        intent = f"/v1/public/payment/{token}/intent"
        first = await customer.post(intent, json={"provider": "paypal"})
        second = await customer.post(intent, json={"provider": "paypal"})

    assert first.status_code == 200, first.text
    assert first.json()["status"] == "requires_action"
    assert first.json()["next_action"]["type"] == "redirect_to_url"
    assert second.json()["id"] == first.json()["id"]


async def test_an_invoices_link_pays_the_invoice_through_its_subscription(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, declining = await card_customer(api, stack.stripe_url, CARD_DECLINED)
    subscribed = await api.post(
        "/v1/subscriptions",
        json={
            "customer_id": customer_id,
            "plan_id": "pro_monthly",
            "trial_days": 0,
            "payment_method_id": declining,
        },
        headers={"Idempotency-Key": new_key()},
    )
    assert subscribed.json()["status"] == "incomplete", subscribed.text
    invoice_id = subscribed.json()["latest_invoice_id"]
    invoice = (await api.get(f"/v1/invoices/{invoice_id}")).json()
    link = await new_link(api, customer_id, invoice_id=invoice_id, amount=None, currency=None)
    token = token_of(link)

    async with public(stack) as customer:
        paid = await pay_by_card(customer, stack, token, CARD_OK)
        after = await customer.get(f"/v1/public/payment/{token}")

    assert (link["amount"], link["currency"]) == (invoice["amount_due"], invoice["currency"])
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "succeeded"
    assert (after.status_code, after.json()["code"]) == (410, "link_used")
    invoice = (await api.get(f"/v1/invoices/{invoice_id}")).json()
    assert invoice["status"] == "paid"
    merchant_view = (await api.get(f"/v1/payment-links/{link['id']}")).json()
    assert (merchant_view["status"], merchant_view["payment_id"]) == ("used", paid.json()["id"])
    subscription = (await api.get(f"/v1/subscriptions/{subscribed.json()['id']}")).json()
    assert subscription["status"] == "active"
    payments = (await api.get("/v1/payments", params={"customer_id": customer_id})).json()
    assert sorted(p["status"] for p in payments["data"]) == ["failed", "succeeded"]


async def test_the_customer_manages_saved_cards_and_reads_past_payments(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, first_card = await card_customer(api, stack.stripe_url, CARD_OK)
    earlier = await pay(api, customer_id, first_card, amount=700)
    base = f"/v1/public/payment/{token_of(await new_link(api, customer_id))}"

    async with public(stack) as customer:
        pm = create_card_payment_method(stack.stripe_url, CARD_OK)
        second = await customer.post(f"{base}/methods", json={"provider": "stripe", "token": pm})
        made_default = await customer.post(f"{base}/methods/{second.json()['id']}/default")
        deleted = await customer.delete(f"{base}/methods/{first_card}")
        methods = (await customer.get(f"{base}/methods")).json()["data"]
        history = (await customer.get(f"{base}/history")).json()["data"]

    assert second.status_code == 201, second.text
    assert made_default.json()["is_default"] is True
    assert deleted.status_code == 200
    assert [(m["id"], m["is_default"]) for m in methods] == [(second.json()["id"], True)]
    assert [(p["id"], p["amount"], p["status"]) for p in history] == [
        (earlier.json()["id"], 700, "succeeded")
    ]


async def test_concurrent_intents_make_one_payment(api: httpx.AsyncClient, stack: Stack) -> None:
    link = await new_link(api, await new_customer(api))
    token = token_of(link)
    async with public(stack) as customer:
        pm = create_card_payment_method(stack.stripe_url, CARD_OK)
        method = (
            await customer.post(
                f"/v1/public/payment/{token}/methods", json={"provider": "stripe", "token": pm}
            )
        ).json()
        answers = await asyncio.gather(
            *(
                customer.post(
                    f"/v1/public/payment/{token}/intent", json={"payment_method_id": method["id"]}
                )
                for _ in range(5)
            )
        )

    succeeded = [a.json()["id"] for a in answers if a.status_code == 200]
    assert len(set(succeeded)) == 1
    assert {(a.status_code, a.json().get("code")) for a in answers if a.status_code != 200} <= {
        (410, "link_used")
    }
    payments = (await api.get("/v1/payments", params={"customer_id": link["customer_id"]})).json()
    assert [p["id"] for p in payments["data"]] == succeeded[:1]


async def test_revoked_and_expired_links_answer_link_expired(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id = await new_customer(api)
    revoked, expired = await new_link(api, customer_id), await new_link(api, customer_id)

    deleted = await api.delete(f"/v1/payment-links/{revoked['id']}")
    async with stack.sessions() as session, session.begin():
        await session.execute(
            update(PaymentLink)
            .where(PaymentLink.id == expired["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    async with public(stack) as customer:
        answers = [
            await customer.get(f"/v1/public/payment/{token_of(link)}")
            for link in (revoked, expired)
        ]

    assert deleted.status_code == 200 and deleted.json()["status"] == "revoked"
    assert [(a.status_code, a.json()["code"]) for a in answers] == [(410, "link_expired")] * 2
    audit = (await admin.get("/v1/admin/audit", params={"resource_id": revoked["id"]})).json()
    assert ("payment_link.revoke", "api_key", 200) in {
        (e["action"], e["actor"]["type"], e["outcome"]) for e in audit["data"]
    }


async def test_unknown_and_near_miss_tokens_are_404_in_the_same_time(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    token = token_of(await new_link(api, await new_customer(api)))
    near_miss = token[:-1] + ("A" if token[-1] != "A" else "B")
    unknown = "x" * len(token)

    async def answer_ms(candidate: str) -> float:
        started = time.perf_counter()
        response = await customer.get(f"/v1/public/payment/{candidate}")
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 404
        assert response.json()["detail"] == "No such payment link."
        return elapsed

    times: dict[str, list[float]] = {unknown: [], near_miss: []}
    async with public(stack) as customer:
        for _ in range(5):  # warm up
            await answer_ms(unknown)
        for _ in range(50):  # alternating, so a slower moment of the machine slows both alike
            for candidate, spent in times.items():
                spent.append(await answer_ms(candidate))
    unknown_ms, near_miss_ms = (statistics.median(times[t]) for t in (unknown, near_miss))

    print(f"median 404: unknown {unknown_ms:.2f} ms, near miss {near_miss_ms:.2f} ms")
    assert abs(unknown_ms - near_miss_ms) < max(2.0, 0.25 * unknown_ms)
