"""The subscription API over HTTP against the real stack: each subscription is a workflow charging
its invoices through localstripe, and each assertion is about what a merchant's back end sees.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from contracts.subscriptions import SubscriptionStatus
from services.terms import billing_terms
from settings import Environment, Settings
from tests.support.flows import (
    CARD_DECLINED,
    CARD_OK,
    card_customer,
    new_customer,
    new_key,
    saved_card,
)
from tests.support.in_process_api import in_process_api
from tests.support.stack import Stack


async def subscribe(
    api: httpx.AsyncClient,
    customer_id: str,
    *,
    plan_id: str = "pro_monthly",
    key: str | None = None,
    **extra: Any,
) -> httpx.Response:
    body: dict[str, Any] = {"customer_id": customer_id, "plan_id": plan_id, **extra}
    return await api.post(
        "/v1/subscriptions", json=body, headers={"Idempotency-Key": key or new_key()}
    )


async def active_subscription(
    api: httpx.AsyncClient, stack: Stack, plan_id: str = "pro_monthly"
) -> tuple[dict[str, Any], str]:
    """A subscription whose first period is paid, and its customer's card."""
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    response = await subscribe(
        api, customer_id, plan_id=plan_id, payment_method_id=method_id, trial_days=0
    )
    assert response.status_code == 201, response.text
    subscription: dict[str, Any] = response.json()
    assert subscription["status"] == "active"
    return subscription, method_id


async def wait_for_status(
    api: httpx.AsyncClient, subscription_id: str, status: str, timeout: float = 30.0
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await api.get(f"/v1/subscriptions/{subscription_id}")
        assert response.status_code == 200, response.text
        subscription: dict[str, Any] = response.json()
        if subscription["status"] == status:
            return subscription
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{subscription_id} stayed {subscription['status']}")
        await asyncio.sleep(0.2)


async def invoices_of(api: httpx.AsyncClient, subscription_id: str) -> list[dict[str, Any]]:
    response = await api.get("/v1/invoices", params={"subscription_id": subscription_id})
    assert response.status_code == 200, response.text
    invoices: list[dict[str, Any]] = response.json()["data"]
    return invoices


# ------------------------------------------------------------------ creating


async def test_without_a_trial_the_first_period_is_charged_at_once(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)

    response = await subscribe(api, customer_id, payment_method_id=method_id, trial_days=0)

    assert response.status_code == 201, response.text
    subscription = response.json()
    assert subscription["id"].startswith("sub_")
    assert subscription["status"] == "active"
    assert subscription["entitled"] is True
    assert subscription["plan_id"] == "pro_monthly"
    assert subscription["customer_id"] == customer_id
    assert subscription["payment_method_id"] == method_id
    assert subscription["trial_end"] is None
    assert subscription["cancel_at_period_end"] is False
    start = datetime.fromisoformat(subscription["current_period_start"])
    end = datetime.fromisoformat(subscription["current_period_end"])
    assert timedelta(days=28) <= end - start <= timedelta(days=31)
    invoice = await api.get(f"/v1/invoices/{subscription['latest_invoice_id']}")
    assert invoice.status_code == 200
    assert invoice.json()["status"] == "paid"
    assert invoice.json()["amount_due"] == invoice.json()["amount_paid"] == 2900
    stored = await api.get(f"/v1/subscriptions/{subscription['id']}")
    assert stored.json() == subscription


async def test_a_trial_starts_without_charging(api: httpx.AsyncClient, stack: Stack) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)

    response = await subscribe(api, customer_id, payment_method_id=method_id)

    assert response.status_code == 201, response.text
    subscription = response.json()
    assert subscription["status"] == "trialing"
    assert subscription["entitled"] is True
    assert subscription["latest_invoice_id"] is None
    trial = datetime.fromisoformat(subscription["trial_end"]) - datetime.fromisoformat(
        subscription["created_at"]
    )
    assert trial == timedelta(days=14), "the plan's own trial"
    assert await invoices_of(api, subscription["id"]) == []


async def test_a_trial_needs_no_payment_method_yet(api: httpx.AsyncClient) -> None:
    customer_id = await new_customer(api)

    response = await subscribe(api, customer_id, trial_days=3)

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "trialing"
    assert response.json()["payment_method_id"] is None


async def test_the_free_plan_needs_no_payment_method(api: httpx.AsyncClient) -> None:
    customer_id = await new_customer(api)

    response = await subscribe(api, customer_id, plan_id="free")

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "active"
    assert response.json()["entitled"] is True


async def test_the_default_card_pays_when_none_is_named(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, _ = await card_customer(api, stack.stripe_url, CARD_OK)

    response = await subscribe(api, customer_id, trial_days=0)

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "active"


async def test_a_declined_first_payment_leaves_it_incomplete_until_a_new_card_pays(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, declining = await card_customer(api, stack.stripe_url, CARD_DECLINED)

    response = await subscribe(api, customer_id, payment_method_id=declining, trial_days=0)

    assert response.status_code == 201, response.text
    subscription = response.json()
    assert subscription["status"] == "incomplete"
    assert subscription["entitled"] is False
    invoice = (await api.get(f"/v1/invoices/{subscription['latest_invoice_id']}")).json()
    assert invoice["status"] == "open"

    good = await saved_card(api, stack.stripe_url, customer_id, CARD_OK)
    changed = await api.post(
        f"/v1/subscriptions/{subscription['id']}/payment-method", json={"payment_method_id": good}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["payment_method_id"] == good
    active = await wait_for_status(api, subscription["id"], "active")
    assert active["entitled"] is True
    paid = (await api.get(f"/v1/invoices/{subscription['latest_invoice_id']}")).json()
    assert paid["status"] == "paid"


async def test_the_same_key_returns_the_same_subscription(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    key = new_key()

    first = await subscribe(api, customer_id, key=key, payment_method_id=method_id, trial_days=0)
    again = await subscribe(api, customer_id, key=key, payment_method_id=method_id, trial_days=0)
    other_body = await subscribe(
        api, customer_id, key=key, plan_id="team_monthly", payment_method_id=method_id
    )

    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert other_body.status_code == 409
    assert other_body.json()["code"] == "idempotency_key_reused"
    assert len(await invoices_of(api, first.json()["id"])) == 1


async def test_concurrent_retries_start_one_subscription(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    key = new_key()

    responses = await asyncio.gather(
        *(
            subscribe(api, customer_id, key=key, payment_method_id=method_id, trial_days=0)
            for _ in range(5)
        )
    )

    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(await invoices_of(api, responses[0].json()["id"])) == 1


async def test_a_reused_key_is_refused_while_the_first_request_runs(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    key = new_key()

    responses = await asyncio.gather(
        subscribe(api, customer_id, key=key, payment_method_id=method_id, trial_days=0),
        subscribe(
            api,
            customer_id,
            key=key,
            plan_id="team_monthly",
            payment_method_id=method_id,
            trial_days=0,
        ),
    )

    assert sorted(r.status_code for r in responses) == [201, 409]
    created = next(r.json() for r in responses if r.status_code == 201)
    refused = next(r.json() for r in responses if r.status_code == 409)
    assert refused["code"] == "idempotency_key_reused"
    assert len(await invoices_of(api, created["id"])) == 1


async def test_past_the_bounded_wait_the_answer_is_202_then_the_result(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    impatient = stack.settings.model_copy(update={"payment_settle_wait": timedelta(0)})
    key = new_key()

    async with in_process_api(impatient, stack.client, timeout=5) as client:
        first = await subscribe(
            client, customer_id, key=key, payment_method_id=method_id, trial_days=0
        )

    assert first.status_code == 202, first.text
    again = await subscribe(api, customer_id, key=key, payment_method_id=method_id, trial_days=0)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["status"] == "active"
    assert (await api.get(f"/v1/subscriptions/{first.json()['id']}")).json() == again.json()


async def test_what_could_never_begin_is_refused(api: httpx.AsyncClient, stack: Stack) -> None:
    customer_id, _ = await card_customer(api, stack.stripe_url, CARD_OK)
    _, someone_elses = await card_customer(api, stack.stripe_url, CARD_OK)
    cardless = await new_customer(api)

    unknown_plan = await subscribe(api, customer_id, plan_id="platinum")
    foreign_method = await subscribe(api, customer_id, payment_method_id=someone_elses)
    no_method = await subscribe(api, cardless, trial_days=0)
    unknown_customer = await subscribe(api, "cus_nobody")
    long_trial = await subscribe(api, customer_id, trial_days=731)
    no_key = await api.post(
        "/v1/subscriptions", json={"customer_id": customer_id, "plan_id": "pro_monthly"}
    )

    assert (unknown_plan.status_code, unknown_plan.json()["code"]) == (422, "plan_not_found")
    assert (foreign_method.status_code, foreign_method.json()["code"]) == (
        422,
        "invalid_payment_method",
    )
    assert (no_method.status_code, no_method.json()["code"]) == (422, "payment_method_required")
    assert (unknown_customer.status_code, unknown_customer.json()["code"]) == (
        422,
        "customer_not_found",
    )
    assert (long_trial.status_code, long_trial.json()["code"]) == (422, "validation_error")
    assert long_trial.json()["errors"][0]["loc"] == ["body", "trial_days"]
    assert (no_key.status_code, no_key.json()["code"]) == (400, "idempotency_key_required")
    for refused in (unknown_plan, foreign_method, no_method, unknown_customer, long_trial):
        assert refused.headers["content-type"] == "application/problem+json"
    listed = await api.get("/v1/subscriptions", params={"customer_id": customer_id})
    assert listed.json()["data"] == [], "nothing was started"


async def test_another_accounts_customer_cannot_be_subscribed(
    api: httpx.AsyncClient, stranger: httpx.AsyncClient
) -> None:
    customer_id = await new_customer(api)

    response = await subscribe(stranger, customer_id, plan_id="free")

    assert (response.status_code, response.json()["code"]) == (422, "customer_not_found")


# ------------------------------------------------------------------ reading


async def test_subscriptions_are_read_per_customer_and_account(
    api: httpx.AsyncClient, stranger: httpx.AsyncClient
) -> None:
    customer_id = await new_customer(api)
    older = (await subscribe(api, customer_id, plan_id="free")).json()
    newer = (await subscribe(api, customer_id, trial_days=7)).json()

    page = await api.get("/v1/subscriptions", params={"customer_id": customer_id, "limit": 1})
    rest = await api.get(
        "/v1/subscriptions",
        params={"customer_id": customer_id, "limit": 1, "starting_after": newer["id"]},
    )
    theirs = await stranger.get(f"/v1/subscriptions/{older['id']}")
    their_list = await stranger.get("/v1/subscriptions", params={"customer_id": customer_id})
    missing = await api.get("/v1/subscriptions/sub_nothing")

    assert [s["id"] for s in page.json()["data"]] == [newer["id"]]
    assert page.json()["has_more"] is True
    assert rest.json() == {"data": [older], "has_more": False}
    assert (theirs.status_code, theirs.json()["code"]) == (404, "not_found")
    assert their_list.json()["data"] == []
    assert missing.status_code == 404


async def test_changes_to_another_accounts_subscription_are_not_found(
    api: httpx.AsyncClient, stranger: httpx.AsyncClient
) -> None:
    customer_id = await new_customer(api)
    subscription = (await subscribe(api, customer_id, plan_id="free")).json()

    response = await stranger.post(f"/v1/subscriptions/{subscription['id']}/cancel")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    stored = await api.get(f"/v1/subscriptions/{subscription['id']}")
    assert stored.json()["status"] == "active"


# ------------------------------------------------------------------ changing


async def test_pause_and_resume(api: httpx.AsyncClient, stack: Stack) -> None:
    subscription, _ = await active_subscription(api, stack)
    url = f"/v1/subscriptions/{subscription['id']}"

    paused = await api.post(f"{url}/pause")
    paused_again = await api.post(f"{url}/pause")
    resumed = await api.post(f"{url}/resume")

    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused"
    assert paused.json()["entitled"] is False
    assert (paused_again.status_code, paused_again.json()["code"]) == (409, "invalid_state")
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "active"
    assert resumed.json()["entitled"] is True
    assert resumed.json()["latest_invoice_id"] != subscription["latest_invoice_id"]
    assert [i["status"] for i in await invoices_of(api, subscription["id"])] == ["paid", "paid"]


async def test_cancel_at_period_end_then_now(api: httpx.AsyncClient, stack: Stack) -> None:
    subscription, _ = await active_subscription(api, stack)
    url = f"/v1/subscriptions/{subscription['id']}"

    later = await api.post(f"{url}/cancel", json={"at_period_end": True})
    now = await api.post(f"{url}/cancel")
    again = await api.post(f"{url}/cancel")

    assert later.status_code == 200, later.text
    assert later.json()["cancel_at_period_end"] is True
    assert later.json()["status"] == "active"
    assert later.json()["entitled"] is True
    assert now.status_code == 200, now.text
    assert now.json()["status"] == "canceled"
    assert now.json()["entitled"] is False
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")
    assert (await api.get(url)).json()["status"] == "canceled"
    resume = await api.post(f"{url}/resume")
    assert (resume.status_code, resume.json()["code"]) == (409, "invalid_state")


async def test_a_new_card_for_future_invoices(api: httpx.AsyncClient, stack: Stack) -> None:
    subscription, _ = await active_subscription(api, stack)
    url = f"/v1/subscriptions/{subscription['id']}"
    new_card = await saved_card(api, stack.stripe_url, subscription["customer_id"], CARD_OK)
    _, someone_elses = await card_customer(api, stack.stripe_url, CARD_OK)

    changed = await api.post(f"{url}/payment-method", json={"payment_method_id": new_card})
    foreign = await api.post(f"{url}/payment-method", json={"payment_method_id": someone_elses})
    missing = await api.post(f"{url}/payment-method", json={})

    assert changed.status_code == 200, changed.text
    assert changed.json()["payment_method_id"] == new_card
    assert changed.json()["status"] == "active"
    assert (await api.get(url)).json()["payment_method_id"] == new_card
    assert (foreign.status_code, foreign.json()["code"]) == (422, "invalid_payment_method")
    assert (missing.status_code, missing.json()["code"]) == (422, "validation_error")


async def test_an_upgrade_charges_the_prorated_difference_now(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    subscription, _ = await active_subscription(api, stack)

    response = await api.post(
        f"/v1/subscriptions/{subscription['id']}/change-plan",
        json={"plan_id": "team_monthly", "proration": "prorate"},
    )

    assert response.status_code == 200, response.text
    upgraded = response.json()
    assert upgraded["plan_id"] == "team_monthly"
    assert upgraded["status"] == "active"
    assert upgraded["current_period_end"] == subscription["current_period_end"]
    invoices = await invoices_of(api, subscription["id"])
    assert len(invoices) == 2
    proration = invoices[0]
    assert proration["id"] != subscription["latest_invoice_id"]
    assert proration["status"] == "paid"
    assert 0 < proration["amount_due"] <= 9900 - 2900
    assert proration["amount_paid"] == proration["amount_due"]


async def test_a_declined_upgrade_keeps_the_plan(api: httpx.AsyncClient, stack: Stack) -> None:
    subscription, _ = await active_subscription(api, stack)
    url = f"/v1/subscriptions/{subscription['id']}"
    declining = await saved_card(api, stack.stripe_url, subscription["customer_id"], CARD_DECLINED)
    await api.post(f"{url}/payment-method", json={"payment_method_id": declining})

    response = await api.post(f"{url}/change-plan", json={"plan_id": "team_monthly"})

    assert (response.status_code, response.json()["code"]) == (402, "payment_failed")
    stored = (await api.get(url)).json()
    assert stored["plan_id"] == "pro_monthly"
    assert stored["status"] == "active"


async def test_a_downgrade_without_proration_waits_for_the_next_period(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    subscription, _ = await active_subscription(api, stack, plan_id="team_monthly")

    response = await api.post(
        f"/v1/subscriptions/{subscription['id']}/change-plan",
        json={"plan_id": "pro_monthly", "proration": "none"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["plan_id"] == "team_monthly"
    assert response.json()["scheduled_plan_id"] == "pro_monthly"
    assert response.json()["status"] == "active"
    assert len(await invoices_of(api, subscription["id"])) == 1, "nothing charged or credited now"
    stored = (await api.get(f"/v1/subscriptions/{subscription['id']}")).json()
    assert (stored["plan_id"], stored["scheduled_plan_id"]) == ("team_monthly", "pro_monthly")


async def test_plan_changes_are_checked(api: httpx.AsyncClient, stack: Stack) -> None:
    subscription, _ = await active_subscription(api, stack)
    url = f"/v1/subscriptions/{subscription['id']}"

    unknown = await api.post(f"{url}/change-plan", json={"plan_id": "platinum"})
    bad_proration = await api.post(
        f"{url}/change-plan", json={"plan_id": "team_monthly", "proration": "sometimes"}
    )
    await api.post(f"{url}/pause")
    while_paused = await api.post(f"{url}/change-plan", json={"plan_id": "team_monthly"})

    assert (unknown.status_code, unknown.json()["code"]) == (422, "plan_not_found")
    assert (bad_proration.status_code, bad_proration.json()["code"]) == (422, "validation_error")
    assert (while_paused.status_code, while_paused.json()["code"]) == (409, "invalid_state")


async def test_a_repeated_change_with_one_key_happens_once(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    subscription, _ = await active_subscription(api, stack)
    url = f"/v1/subscriptions/{subscription['id']}"
    headers = {"Idempotency-Key": new_key()}
    body = {"plan_id": "team_monthly"}

    first = await api.post(f"{url}/change-plan", json=body, headers=headers)
    again = await api.post(f"{url}/change-plan", json=body, headers=headers)

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert len(await invoices_of(api, subscription["id"])) == 2, "one prorated charge"


# ------------------------------------------------------------------ wiring


def test_billing_terms_come_from_settings() -> None:
    settings = Settings(
        environment=Environment.TEST,
        grace_period=timedelta(days=3),
        tax_rate_basis_points=1900,
        dunning_retry_days=(2, 4),
        dunning_retry_days_by_plan={"team_yearly": (1, 3, 7)},
        dunning_final_status="unpaid",
        incomplete_expiry=timedelta(hours=1),
        update_payment_method_url="https://shop.example/billing?sub={subscription_id}",
    )

    team = billing_terms(settings, "team_yearly", "sub_a")
    pro = billing_terms(settings, "pro_monthly", "sub_b")

    assert team.retry_days == [1, 3, 7]
    assert pro.retry_days == [2, 4]
    assert pro.grace_seconds == 3 * 86400
    assert pro.tax_rate_basis_points == 1900
    assert pro.final_status is SubscriptionStatus.UNPAID
    assert pro.incomplete_expiry_seconds == 3600
    assert pro.update_payment_method_url == "https://shop.example/billing?sub=sub_b"
    assert pro.payment.refund_window_seconds == int(settings.refund_window.total_seconds())


@pytest.mark.parametrize("template", ["https://x.example/{customer_id}", "https://x.example/{"])
def test_an_unfillable_payment_method_url_is_refused_at_start(template: str) -> None:
    with pytest.raises(ValidationError, match="update_payment_method_url"):
        Settings(environment=Environment.TEST, update_payment_method_url=template)


async def test_the_openapi_schema_describes_the_subscription_routes(
    api: httpx.AsyncClient,
) -> None:
    schema = (await api.get("/openapi.json")).json()

    paths = schema["paths"]
    assert set(paths["/v1/subscriptions"]) == {"get", "post"}
    for action in ("change-plan", "pause", "resume", "cancel", "payment-method"):
        assert "post" in paths[f"/v1/subscriptions/{{subscription_id}}/{action}"]
    created = paths["/v1/subscriptions"]["post"]["responses"]
    assert {"200", "201", "202"} <= set(created)


async def test_a_refund_comes_only_with_a_cancel_now(api: httpx.AsyncClient, stack: Stack) -> None:
    subscription, _ = await active_subscription(api, stack)
    url = f"/v1/subscriptions/{subscription['id']}/cancel"

    refused = await api.post(url, json={"at_period_end": True, "prorate_refund": True})
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
    assert (await api.get(f"/v1/subscriptions/{subscription['id']}")).json()["status"] == "active"

    canceled = await api.post(url, json={"prorate_refund": True})
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled"
    invoice_id = subscription["latest_invoice_id"]
    (refund,) = (await api.get(f"/v1/payments/{invoice_id}/refunds")).json()["data"]
    assert refund["status"] == "succeeded"
    assert 2800 < refund["amount"] <= 2900, "seconds of a month were used"
