"""The issuer's advice steers dunning (time-skipping server, localstripe behind the fault proxy,
which plays an issuer that sends ``advice_code`` as real ones do and localstripe does not)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from contracts.subscriptions import SubscriptionStatus
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
HOUR = timedelta(hours=1)


def insufficient_funds(**advice: str) -> dict[str, object]:
    return {
        "error": {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "insufficient_funds",
            "message": "Your card has insufficient funds.",
            **advice,
        }
    }


@pytest.fixture
async def operator(proxied: Proxied) -> AsyncIterator[httpx.AsyncClient]:
    """The API on the time-skipping server, as an operator calls it."""
    async with in_process_api(proxied.timeskip.settings, client=proxied.timeskip.client) as api:
        api.headers.update({"Authorization": f"Bearer {DEV_ADMIN_KEY}"})
        yield api


async def test_do_not_try_again_stops_the_retries_of_a_soft_decline(
    api: httpx.AsyncClient, stack: Stack, proxied: Proxied, operator: httpx.AsyncClient
) -> None:
    subscription, renewal = await subscribed(api, stack, proxied, unique_email())
    proxied.proxy.add(
        Fault.STATUS,
        "POST",
        CONFIRM,
        times=1,
        status=402,
        body=insufficient_funds(advice_code="do_not_try_again"),
    )

    await advance_until(proxied.timeskip, renewal + 8 * 24 * HOUR)

    invoice = (await invoices(stack, subscription.subscription_id))[-1]
    assert (invoice.status, invoice.attempt_count) == ("open", 1)
    assert invoice.next_payment_attempt is None
    assert intent_statuses(stack.stripe_url, f"{invoice.id}_attempt2") == []
    assert (await state(proxied.timeskip, subscription.subscription_id)).status is (
        SubscriptionStatus.PAST_DUE
    )
    refused = await operator.post(
        f"/v1/admin/invoices/{invoice.id}/retry", headers={"Idempotency-Key": "against-advice"}
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "invalid_state")
    assert intent_statuses(stack.stripe_url, f"{invoice.id}_attempt2") == []


async def test_a_mastercard_try_again_later_is_retried_on_schedule(
    api: httpx.AsyncClient, stack: Stack, proxied: Proxied
) -> None:
    subscription, renewal = await subscribed(api, stack, proxied, unique_email())
    proxied.proxy.add(
        Fault.STATUS,
        "POST",
        CONFIRM,
        times=1,
        status=402,
        body=insufficient_funds(network_advice_code="02"),
    )

    await advance_until(proxied.timeskip, renewal + 3 * 24 * HOUR + HOUR)

    rows = await eventually(
        lambda: invoices(stack, subscription.subscription_id),
        lambda found: found[-1].status == "paid",
    )
    invoice = rows[-1]
    assert invoice.attempt_count == 2
    assert intent_statuses(stack.stripe_url, f"{invoice.id}_attempt2") == ["succeeded"]
