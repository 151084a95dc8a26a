"""Failed renewals on the time-skipping server: the dunning schedule, the grace period, the mails
and the outcome, with real localstripe behind a fault proxy that plays the issuer's declines
(localstripe's test cards always decline the same way; real cards run out of funds and recover)."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage

import httpx
import pytest

from contracts.subscriptions import PaymentMethodChange, SubscriptionStatus
from db.repositories import dunning as dunning_repo
from sandbox.faults.proxy import Fault
from tests.support.flows import CARD_OK, saved_card
from tests.support.localstripe import intent_statuses
from tests.support.mail import received_messages
from tests.support.polling import eventually
from tests.support.stack import Stack
from tests.support.subscriptions import (
    DAY,
    advance_until,
    invoices,
    state,
    subscribed,
    unique_email,
)
from tests.support.timeskip import Proxied
from workflows.subscription import SubscriptionWorkflow

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
EXPIRED_CARD: dict[str, object] = {
    "error": {"type": "card_error", "code": "expired_card", "message": "Your card has expired."}
}
HOUR = timedelta(hours=1)


def dunning_mails(stack: Stack, email: str) -> list[EmailMessage]:
    """The plain-text mails to ``email``: the invoice and receipt mails, which carry a PDF
    (multipart), are tests/e2e/api/test_invoice_documents.py's."""
    return [
        m
        for m in received_messages(stack.mail_dir)
        if m["To"] == email and m.get_content_maintype() == "text"
    ]


def mail_subjects(stack: Stack, email: str) -> list[str]:
    return [str(m["Subject"]) for m in dunning_mails(stack, email)]


async def payment_created(api: httpx.AsyncClient, payment_id: str) -> datetime:
    response = await api.get(f"/v1/payments/{payment_id}")
    assert response.status_code == 200, response.text
    return datetime.fromisoformat(response.json()["created_at"])


async def test_a_soft_decline_is_retried_on_schedule_and_recovers_on_the_second_retry(
    api: httpx.AsyncClient, stack: Stack, proxied: Proxied
) -> None:
    email = unique_email()
    subscription, renewal = await subscribed(api, stack, proxied, email)
    declines = proxied.proxy.add(
        Fault.STATUS, "POST", CONFIRM, times=2, status=402, body=INSUFFICIENT_FUNDS
    )

    await advance_until(proxied.timeskip, renewal + HOUR)
    past_due = await state(proxied.timeskip, subscription.subscription_id)
    assert past_due.status is SubscriptionStatus.PAST_DUE
    assert past_due.entitled
    renewal_invoice = (await invoices(stack, subscription.subscription_id))[-1]
    assert renewal_invoice.status == "open"
    assert renewal_invoice.next_payment_attempt is not None
    assert renewal_invoice.next_payment_attempt - renewal_invoice.period_start < 3 * DAY + HOUR
    assert mail_subjects(stack, email) == ["We couldn't process your Pro payment"]

    await advance_until(proxied.timeskip, renewal + 3 * DAY + HOUR)
    assert declines.hits == 2
    assert mail_subjects(stack, email)[1:] == ["Action needed: your Pro payment failed again"]
    assert (await state(proxied.timeskip, subscription.subscription_id)).entitled

    await advance_until(proxied.timeskip, renewal + 7 * DAY + HOUR)
    recovered = await eventually(
        lambda: state(proxied.timeskip, subscription.subscription_id),
        lambda view: view.status is SubscriptionStatus.ACTIVE,
    )
    assert recovered.entitled
    assert recovered.past_due_since is None
    invoice = (await invoices(stack, subscription.subscription_id))[-1]
    assert (invoice.id, invoice.status, invoice.amount_paid) == (renewal_invoice.id, "paid", 2900)
    assert invoice.attempt_count == 3
    for attempt, day in ((2, 3), (3, 7)):
        created = await payment_created(api, f"{invoice.id}_attempt{attempt}")
        assert day * DAY <= created - renewal < day * DAY + HOUR
    assert intent_statuses(stack.stripe_url, f"{invoice.id}_attempt3") == ["succeeded"]
    assert mail_subjects(stack, email) == [
        "We couldn't process your Pro payment",
        "Action needed: your Pro payment failed again",
        "Payment received: your Pro subscription is active",
    ]
    assert all(
        "https://billing.example.com/update" in str(message.get_body())
        for message in dunning_mails(stack, email)
    )
    async with stack.sessions() as session:
        dunning_case = await dunning_repo.get_dunning_case(session, invoice.id)
    assert dunning_case is not None and dunning_case.status == "recovered"


async def test_when_every_retry_fails_entitlement_ends_after_the_grace_period_then_the_subscription(
    api: httpx.AsyncClient, stack: Stack, proxied: Proxied
) -> None:
    email = unique_email()
    subscription, renewal = await subscribed(api, stack, proxied, email)
    proxied.proxy.add(Fault.STATUS, "POST", CONFIRM, status=402, body=INSUFFICIENT_FUNDS)

    await advance_until(proxied.timeskip, renewal + 6 * DAY + HOUR)
    assert (await state(proxied.timeskip, subscription.subscription_id)).entitled
    await advance_until(proxied.timeskip, renewal + 7 * DAY + 2 * HOUR)
    lapsed = await state(proxied.timeskip, subscription.subscription_id)
    assert (lapsed.status, lapsed.entitled) == (SubscriptionStatus.PAST_DUE, False)

    await advance_until(proxied.timeskip, renewal + 14 * DAY + HOUR)
    ended = await eventually(
        lambda: state(proxied.timeskip, subscription.subscription_id),
        lambda view: view.status is SubscriptionStatus.CANCELED,
    )
    assert not ended.entitled
    invoice = (await invoices(stack, subscription.subscription_id))[-1]
    assert (invoice.status, invoice.amount_paid, invoice.attempt_count) == ("uncollectible", 0, 4)
    for attempt, day in ((2, 3), (3, 7), (4, 14)):
        created = await payment_created(api, f"{invoice.id}_attempt{attempt}")
        assert day * DAY <= created - renewal < day * DAY + HOUR
    assert mail_subjects(stack, email) == [
        "We couldn't process your Pro payment",
        "Action needed: your Pro payment failed again",
        "Final notice: your Pro subscription is about to end",
        "Your Pro subscription has ended",
    ]
    async with stack.sessions() as session:
        dunning_case = await dunning_repo.get_dunning_case(session, invoice.id)
    assert dunning_case is not None and dunning_case.status == "lost"


async def test_a_hard_decline_is_not_retried_and_a_new_payment_method_is_charged_at_once(
    api: httpx.AsyncClient, stack: Stack, proxied: Proxied
) -> None:
    email = unique_email()
    subscription, renewal = await subscribed(api, stack, proxied, email)
    expired = proxied.proxy.add(
        Fault.STATUS, "POST", CONFIRM, times=1, status=402, body=EXPIRED_CARD
    )

    await advance_until(proxied.timeskip, renewal + 4 * DAY)
    invoice = (await invoices(stack, subscription.subscription_id))[-1]
    assert expired.hits == 1
    assert (await api.get(f"/v1/payments/{invoice.id}_attempt2")).status_code == 404
    assert invoice.next_payment_attempt is None
    assert (await state(proxied.timeskip, subscription.subscription_id)).status is (
        SubscriptionStatus.PAST_DUE
    )

    new_card = await saved_card(api, stack.stripe_url, subscription.customer_id, CARD_OK)
    handle = proxied.timeskip.client.get_workflow_handle(subscription.subscription_id)
    await handle.execute_update(
        SubscriptionWorkflow.set_payment_method, PaymentMethodChange(new_card)
    )
    active = await eventually(
        lambda: state(proxied.timeskip, subscription.subscription_id),
        lambda view: view.status is SubscriptionStatus.ACTIVE,
    )
    assert active.payment_method_id == new_card
    assert active.entitled
    paid_invoice = (await invoices(stack, subscription.subscription_id))[-1]
    assert (paid_invoice.status, paid_invoice.attempt_count) == ("paid", 2)
    retry = (await api.get(f"/v1/payments/{invoice.id}_attempt2")).json()
    assert (retry["status"], retry["payment_method_id"]) == ("succeeded", new_card)
    assert 4 * DAY <= datetime.fromisoformat(retry["created_at"]) - renewal < 4 * DAY + HOUR
    assert mail_subjects(stack, email)[0] == "We couldn't process your Pro payment"
    assert mail_subjects(stack, email)[-1] == "Payment received: your Pro subscription is active"
