"""Subscriptions billed to a saved PayPal wallet on the time-skipping server: every renewal is
charged at the real PayPal sandbox with no buyer step, once per invoice."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from contracts.subscriptions import CancelSubscriptionRequest, SubscriptionStatus
from db.models import WebhookEvent
from tests.support.flows import new_customer
from tests.support.paypal import access_token, approved_setup_token
from tests.support.polling import eventually
from tests.support.stack import Stack
from tests.support.subscriptions import (
    PRO_MONTHLY,
    advance,
    invoices,
    state,
    subscribe_customer,
    unique_email,
)
from tests.support.timeskip import TimeSkipping
from workflows.policies.invoicing import period_end
from workflows.subscription import SubscriptionWorkflow

pytestmark = pytest.mark.timeskip


async def paypal_customer(api: httpx.AsyncClient, paypal_url: str, email: str) -> tuple[str, str]:
    """A customer who saved a PayPal wallet (vaulted at the sandbox, attached through the API) as
    their only, hence default, payment method; returns the customer's and the method's ids."""
    customer_id = await new_customer(api, email)
    saved = await api.post(
        f"/v1/customers/{customer_id}/payment-methods",
        json={"provider": "paypal", "token": approved_setup_token(paypal_url)},
    )
    assert saved.status_code == 201, saved.text
    assert saved.json()["is_default"], saved.text
    method_id: str = saved.json()["id"]
    return customer_id, method_id


def paypal_order(paypal_url: str, order_id: str) -> dict[str, Any]:
    """The order as the sandbox holds it, read behind Durapay's back."""
    response = httpx.get(
        f"{paypal_url}/v2/checkout/orders/{order_id}",
        headers={"Authorization": f"Bearer {access_token(paypal_url)}"},
    )
    response.raise_for_status()
    order: dict[str, Any] = response.json()
    return order


async def announced_captures(stack: Stack, invoice_ids: list[str]) -> Counter[str]:
    """Captures the sandbox announced (``PAYMENT.CAPTURE.COMPLETED``, delivered to the API) per
    invoice: the sandbox's own account of every capture, whichever order it was made on."""
    async with stack.sessions() as session:
        events = await session.scalars(
            select(WebhookEvent).where(
                WebhookEvent.provider == "paypal",
                WebhookEvent.type == "PAYMENT.CAPTURE.COMPLETED",
            )
        )
        custom_ids = [event.payload["resource"].get("custom_id") for event in events]
    return Counter(custom_id for custom_id in custom_ids if custom_id in invoice_ids)


async def test_renewals_charge_a_saved_paypal_wallet_once_per_invoice(
    api: httpx.AsyncClient, stack: Stack, timeskip: TimeSkipping
) -> None:
    email = unique_email()
    customer_id, wallet_id = await paypal_customer(api, stack.paypal_url, email)
    subscription, started = await subscribe_customer(timeskip, customer_id)
    # Just past the second renewal, whatever the months' lengths: three invoices.
    await advance(timeskip, days=(period_end(started, PRO_MONTHLY.interval, 2) - started).days + 1)

    billed = await invoices(stack, subscription.subscription_id)
    invoice_ids = [row.id for row in billed]
    assert len(billed) == 3
    assert [(row.status, row.amount_due, row.amount_paid) for row in billed] == [
        ("paid", 2900, 2900)
    ] * 3
    assert billed[0].period_start == started
    for earlier, later in itertools.pairwise(billed):
        assert earlier.period_end == later.period_start

    for invoice_id in invoice_ids:
        response = await api.get(f"/v1/payments/{invoice_id}")
        assert response.status_code == 200, response.text
        payment = response.json()
        assert (payment["provider"], payment["status"]) == ("paypal", "succeeded")
        assert (payment["payment_method_id"], payment["amount_captured"]) == (wallet_id, 2900)
        order = await asyncio.to_thread(
            paypal_order, stack.paypal_url, payment["provider_reference"]
        )
        captures = order["purchase_units"][0]["payments"]["captures"]
        assert [
            (capture["status"], capture["amount"]["value"], capture["custom_id"])
            for capture in captures
        ] == [("COMPLETED", "29.00", invoice_id)]

    announced = await eventually(
        lambda: announced_captures(stack, invoice_ids), lambda seen: set(seen) == set(invoice_ids)
    )
    assert announced == Counter(invoice_ids)

    view = await state(timeskip, subscription.subscription_id)
    assert (view.status, view.periods_billed) == (SubscriptionStatus.ACTIVE, 3)
    handle = timeskip.client.get_workflow_handle(subscription.subscription_id)
    canceled = await handle.execute_update(
        SubscriptionWorkflow.cancel, CancelSubscriptionRequest(at_period_end=False)
    )
    assert canceled.status is SubscriptionStatus.CANCELED
