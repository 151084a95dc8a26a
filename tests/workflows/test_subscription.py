"""SubscriptionWorkflow with fake billing and a fake provider on the time-skipping server: a trial
ends in its first charge, and a first payment that fails leaves the subscription ``incomplete``
until a new card pays the same invoice or the incomplete expiry cancels it. Each invoice is
charged by a child PaymentWorkflow whose ID is the invoice's, off session."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from contracts.billing import InvoiceStatus
from contracts.payments import PaymentTimeouts
from contracts.subscriptions import (
    BillingTerms,
    PaymentMethodChange,
    PlanInterval,
    PlanTerms,
    SubscriptionInput,
    SubscriptionStatus,
    SubscriptionView,
)
from contracts.workflow_names import STATE_QUERY, SubscriptionUpdate, WorkflowName
from tests.support.polling import eventually
from tests.support.time_skipping import skip_until
from tests.workflows.fakes import (
    CARD_OK,
    FakeBilling,
    FakeProvider,
    FakeRecords,
    ProviderCall,
    declining,
    fake_worker,
)

pytestmark = pytest.mark.timeskip

PRO = PlanTerms("pro_monthly", "Pro", 2900, "USD", PlanInterval.MONTH)
TERMS = BillingTerms(
    payment=PaymentTimeouts(
        action_seconds=3600,
        authorization_expiry_seconds=7 * 86400,
        # Longer than any test here simulates: the payments stay open for refunds throughout.
        refund_window_seconds=3650 * 86400,
        provider_call_seconds=10,
    ),
)


async def subscribe(
    env: WorkflowEnvironment, task_queue: str, payment_method_id: str, trial_days: int = 0
) -> tuple[SubscriptionInput, WorkflowHandle[Any, SubscriptionView]]:
    """Start a Pro subscription and return once it has begun, as ``POST /v1/subscriptions``."""
    subscription = SubscriptionInput(
        subscription_id=f"sub_{uuid.uuid4().hex[:16]}",
        account_id="acct_test",
        customer_id="cus_test",
        plan=PRO,
        trial_days=trial_days,
        billing=TERMS,
        created_at=await env.get_current_time(),
        payment_method_id=payment_method_id,
    )
    handle = await env.client.start_workflow(
        WorkflowName.SUBSCRIPTION,
        subscription,
        id=subscription.subscription_id,
        task_queue=task_queue,
        result_type=SubscriptionView,
    )
    await handle.execute_update(SubscriptionUpdate.BEGUN, result_type=SubscriptionView)
    return subscription, handle


async def state(env: WorkflowEnvironment, subscription: SubscriptionInput) -> SubscriptionView:
    """The latest run's view (a billed period continues the workflow as new)."""
    latest = env.client.get_workflow_handle(subscription.subscription_id)
    view: SubscriptionView = await latest.query(STATE_QUERY, result_type=SubscriptionView)
    return view


def first_invoice_id(subscription: SubscriptionInput) -> str:
    return f"in_{subscription.subscription_id.removeprefix('sub_')}_0001"


async def test_a_trial_ends_with_its_first_invoice_charged_once(
    env: WorkflowEnvironment, task_queue: str, provider: FakeProvider, records: FakeRecords
) -> None:
    billing = FakeBilling({"pm_saved": CARD_OK})
    async with fake_worker(env, task_queue, provider, records, billing):
        subscription, _ = await subscribe(env, task_queue, "pm_saved", trial_days=14)
        trialing = await state(env, subscription)
        invoices_during_trial = dict(billing.invoices)
        trial_end = subscription.created_at + timedelta(days=14)
        await skip_until(env, trial_end + timedelta(hours=1))
        active = await eventually(
            lambda: state(env, subscription), lambda view: view.status is SubscriptionStatus.ACTIVE
        )

    assert (trialing.status, trialing.entitled) == (SubscriptionStatus.TRIALING, True)
    assert trialing.trial_end == trial_end
    assert invoices_during_trial == {}
    invoice_id = first_invoice_id(subscription)
    (invoice,) = billing.invoices.values()
    assert (invoice.id, invoice.amount_due, invoice.status) == (
        invoice_id,
        2900,
        InvoiceStatus.PAID,
    )
    assert invoice.period_start == trial_end
    assert provider.calls == [
        ProviderCall("create_intent", f"{invoice_id}:create", amount=2900),
        ProviderCall("confirm_intent", f"{invoice_id}:confirm", off_session=True),
    ]
    assert active.entitled
    assert (active.current_period_start, active.current_period_end) == (
        trial_end,
        invoice.period_end,
    )
    assert active.latest_invoice_id == invoice_id


async def test_a_failed_first_payment_is_incomplete_until_a_new_card_pays_the_invoice(
    env: WorkflowEnvironment, task_queue: str, provider: FakeProvider, records: FakeRecords
) -> None:
    billing = FakeBilling({"pm_old": declining("insufficient_funds"), "pm_new": CARD_OK})
    async with fake_worker(env, task_queue, provider, records, billing):
        subscription, handle = await subscribe(env, task_queue, "pm_old")
        incomplete = await state(env, subscription)
        await handle.execute_update(
            SubscriptionUpdate.SET_PAYMENT_METHOD,
            PaymentMethodChange("pm_new"),
            result_type=SubscriptionView,
        )
        active = await eventually(
            lambda: state(env, subscription), lambda view: view.status is SubscriptionStatus.ACTIVE
        )

    assert (incomplete.status, incomplete.entitled) == (SubscriptionStatus.INCOMPLETE, False)
    invoice_id = first_invoice_id(subscription)
    assert list(billing.invoices) == [invoice_id]
    assert billing.invoices[invoice_id].status is InvoiceStatus.PAID
    assert [call.idempotency_key for call in provider.called("create_intent")] == [
        f"{invoice_id}:create",
        f"{invoice_id}_attempt2:create",
    ]
    assert (active.entitled, active.payment_method_id) == (True, "pm_new")
    assert [charge.payment_id for charge in active.period_charges] == [f"{invoice_id}_attempt2"]


async def test_a_failed_first_payment_and_no_new_card_cancel_at_the_incomplete_expiry(
    env: WorkflowEnvironment, task_queue: str, provider: FakeProvider, records: FakeRecords
) -> None:
    billing = FakeBilling({"pm_old": declining("insufficient_funds")})
    async with fake_worker(env, task_queue, provider, records, billing):
        subscription, handle = await subscribe(env, task_queue, "pm_old")
        final = await handle.result()

    assert (final.status, final.entitled) == (SubscriptionStatus.CANCELED, False)
    assert final.canceled_at is not None
    expiry = timedelta(seconds=TERMS.incomplete_expiry_seconds)
    assert expiry <= final.canceled_at - subscription.created_at < expiry + timedelta(minutes=1)
    (invoice,) = billing.invoices.values()
    assert invoice.status is InvoiceStatus.VOID
    assert len(provider.called("confirm_intent")) == 1
