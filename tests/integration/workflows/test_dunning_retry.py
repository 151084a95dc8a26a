"""An operator's retry of an invoice in dunning (``POST /v1/admin/invoices/{id}/retry``, the
``retry_now`` update of ``dun_…``) on the time-skipping server with real localstripe behind the
fault proxy: it charges at once, once; a second retry while that charge is in flight joins it
instead of charging again; and the schedule's own attempts carry on from it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from contracts.subscriptions import SubscriptionStatus
from db.repositories import dunning as dunning_repo
from sandbox.faults.proxy import Fault
from settings import DEV_ADMIN_KEY
from tests.support.in_process_api import in_process_api
from tests.support.localstripe import intent_statuses
from tests.support.polling import eventually
from tests.support.stack import Stack
from tests.support.subscriptions import advance_until, invoices, state, subscribed, unique_email
from tests.support.timeskip import Proxied

pytestmark = pytest.mark.timeskip

CONFIRM = r"/v1/payment_intents/[^/]+/confirm"
INSUFFICIENT_FUNDS: dict[str, object] = {
    "error": {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.",
    }
}
ADMIN = {"Authorization": f"Bearer {DEV_ADMIN_KEY}"}
HOUR = timedelta(hours=1)


@pytest.fixture
async def operator(proxied: Proxied) -> AsyncIterator[httpx.AsyncClient]:
    """The API on the time-skipping server, as an operator calls it."""
    async with in_process_api(proxied.timeskip.settings, client=proxied.timeskip.client) as api:
        api.headers.update(ADMIN)
        yield api


async def in_dunning(api: httpx.AsyncClient, stack: Stack, proxied: Proxied) -> tuple[str, str]:
    """A subscriber whose renewal was declined once: its invoice waits for the day-3 retry."""
    subscription, renewal = await subscribed(api, stack, proxied, unique_email())
    proxied.proxy.add(Fault.STATUS, "POST", CONFIRM, times=1, status=402, body=INSUFFICIENT_FUNDS)
    await advance_until(proxied.timeskip, renewal + HOUR)
    assert (await state(proxied.timeskip, subscription.subscription_id)).status is (
        SubscriptionStatus.PAST_DUE
    )
    invoice = (await invoices(stack, subscription.subscription_id))[-1]
    assert invoice.status == "open"
    return subscription.subscription_id, invoice.id


def retry(operator: httpx.AsyncClient, invoice_id: str, key: str) -> asyncio.Task[httpx.Response]:
    return asyncio.create_task(
        operator.post(f"/v1/admin/invoices/{invoice_id}/retry", headers={"Idempotency-Key": key})
    )


async def test_a_retry_during_an_in_flight_charge_joins_it_and_charges_once(
    api: httpx.AsyncClient, stack: Stack, proxied: Proxied, operator: httpx.AsyncClient
) -> None:
    subscription_id, invoice_id = await in_dunning(api, stack, proxied)
    in_flight = proxied.proxy.add(Fault.DELAY, "POST", CONFIRM, times=1, seconds=2)

    first = retry(operator, invoice_id, "operator-retry-1")
    await asyncio.wait_for(in_flight.matched.wait(), timeout=30)
    second = retry(operator, invoice_id, "operator-retry-2")
    answers = [(await first), (await second)]

    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    charged, joined = (a.json() for a in answers)
    assert charged == {
        "invoice_id": invoice_id,
        "outcome": "paid",
        "attempts": 2,
        "payment_id": f"{invoice_id}_attempt2",
        "joined": False,
    }
    assert joined == charged | {"joined": True}
    assert intent_statuses(stack.stripe_url, f"{invoice_id}_attempt2") == ["succeeded"]
    assert intent_statuses(stack.stripe_url, f"{invoice_id}_attempt3") == []
    assert in_flight.hits == 1
    recovered = await eventually(
        lambda: state(proxied.timeskip, subscription_id),
        lambda view: view.status is SubscriptionStatus.ACTIVE,
    )
    assert recovered.entitled
    (paid,) = [i for i in await invoices(stack, subscription_id) if i.id == invoice_id]
    assert (paid.status, paid.amount_paid, paid.attempt_count) == ("paid", 2900, 2)
    async with stack.sessions() as session:
        case = await dunning_repo.get_dunning_case(session, invoice_id)
    assert case is not None and case.status == "recovered"

    again = await operator.post(
        f"/v1/admin/invoices/{invoice_id}/retry", headers={"Idempotency-Key": "operator-retry-1"}
    )
    assert (again.status_code, again.json()["code"]) == (409, "invoice_not_in_dunning")


async def test_a_declined_retry_leaves_the_schedule_to_carry_on(
    api: httpx.AsyncClient, stack: Stack, proxied: Proxied, operator: httpx.AsyncClient
) -> None:
    subscription_id, invoice_id = await in_dunning(api, stack, proxied)
    proxied.proxy.add(Fault.STATUS, "POST", CONFIRM, times=1, status=402, body=INSUFFICIENT_FUNDS)

    answer = await operator.post(
        f"/v1/admin/invoices/{invoice_id}/retry", headers={"Idempotency-Key": "retry-declined"}
    )

    assert answer.status_code == 200, answer.text
    assert answer.json() | {"payment_id": None} == {
        "invoice_id": invoice_id,
        "outcome": "failed",
        "attempts": 2,
        "payment_id": None,
        "joined": False,
    }
    (open_invoice,) = [i for i in await invoices(stack, subscription_id) if i.id == invoice_id]
    assert (open_invoice.status, open_invoice.attempt_count) == ("open", 2)
    assert open_invoice.next_payment_attempt is not None
    (renewal_start,) = [open_invoice.period_start]
    await advance_until(proxied.timeskip, renewal_start + timedelta(days=3) + HOUR)
    await eventually(
        lambda: state(proxied.timeskip, subscription_id),
        lambda view: view.status is SubscriptionStatus.ACTIVE,
    )
    assert intent_statuses(stack.stripe_url, f"{invoice_id}_attempt3") == ["succeeded"]


async def test_an_invoice_not_in_dunning_is_refused(operator: httpx.AsyncClient) -> None:
    answer = await operator.post(
        "/v1/admin/invoices/in_unknown/retry", headers={"Idempotency-Key": "retry-unknown"}
    )
    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
