"""The ceiling for ``bench.subscription_year``: a workflow with the shape of Durapay's
``SubscriptionWorkflow`` billing cycle and nothing else, every activity returning at once.

One billing cycle of Durapay's subscription (its history, ``tests/histories/subscription_*.json``)
is: the timer to the period's end, ``open_invoice`` and ``charge_target`` (activities), the
invoice's ``PaymentWorkflow`` started as an abandoned child that signals its outcome back,
``update_invoice`` (an activity), ``record_subscription`` (a local activity) and a
``SubscriptionStatus`` upsert, then continue-as-new. The first run also records the subscription
(local activity, upsert) and bills the first period at once, before its first timer. Here the
child is ``bench.bare_payment.BarePaymentWorkflow`` in a given shape, which signals this workflow
once settled and then sleeps in its refund window, as Durapay's payment does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.workflow import ParentClosePolicy

from bench.bare_payment import STEP_TIMEOUT, BarePaymentWorkflow, BareShape, instant_step

SUBSCRIPTION_STATUS = SearchAttributeKey.for_keyword("SubscriptionStatus")
SETTLED_SIGNAL = "payment_settled"


@dataclass(frozen=True)
class BareSubscription:
    """``period`` seconds per billing cycle; each invoice paid by a child of ``payment``'s
    shape; ``invoices`` so far, carried across runs (none: the first run)."""

    period: float
    payment: BareShape
    invoices: int = 0


@workflow.defn
class BareSubscriptionWorkflow:
    def __init__(self) -> None:
        self._settled: set[str] = set()
        self._invoices = 0

    @workflow.run
    async def run(self, subscription: BareSubscription) -> None:
        self._invoices = subscription.invoices
        if subscription.invoices == 0:
            await self._record()
            await self._bill(subscription)
        await workflow.sleep(timedelta(seconds=subscription.period))
        await self._bill(subscription)
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(replace(subscription, invoices=self._invoices))

    async def _bill(self, subscription: BareSubscription) -> None:
        self._invoices += 1
        await self._activity("open_invoice")
        await self._activity("charge_target")
        payment_id = f"{workflow.info().workflow_id}_in{self._invoices}"
        await workflow.start_child_workflow(
            BarePaymentWorkflow.run,
            replace(subscription.payment, notify_workflow_id=workflow.info().workflow_id),
            id=payment_id,
            parent_close_policy=ParentClosePolicy.ABANDON,
        )
        await workflow.wait_condition(lambda: payment_id in self._settled)
        await self._activity("update_invoice")
        await self._record()

    async def _activity(self, step: str) -> None:
        await workflow.execute_activity(instant_step, step, start_to_close_timeout=STEP_TIMEOUT)

    async def _record(self) -> None:
        await workflow.execute_local_activity(
            instant_step, "record_subscription", start_to_close_timeout=STEP_TIMEOUT
        )
        workflow.upsert_search_attributes([SUBSCRIPTION_STATUS.value_set("active")])

    @workflow.signal(name=SETTLED_SIGNAL)
    def payment_settled(self, payment_id: str) -> None:
        self._settled.add(payment_id)

    @workflow.query
    def invoices(self) -> int:
        return self._invoices
