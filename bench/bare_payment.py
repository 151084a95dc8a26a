"""The ceilings for ``bench.payments``: a workflow with the shape of Durapay's automatic saved-card
payment and nothing else, the shape being a parameter so that it can follow Durapay's.

Two shapes are measured (``SHAPES``), each step returning its argument at once, so what is left is
Temporal's own cost for that shape; the difference to Durapay is what Durapay adds:

- ``bare-2024``, the shape Durapay's payment had until December 2026: record a transition (a
  local activity), create the intent (an activity), record, confirm (an activity), record; the
  client starts the workflow and awaits its completion.
- ``bare``, the shape with the provider calls as local activities on the happy path: a risk check,
  record, create, record, confirm, record (six local activities in one workflow task), a
  search-attribute upsert and the refund-window timer. As Durapay's API does, the client starts it
  with an update-with-start and has its answer from the ``settle`` update while the workflow sleeps
  in its refund window.

This module imports nothing but the SDK, so the workflow sandbox loads it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import SearchAttributeKey

STEP_TIMEOUT = timedelta(seconds=10)
REFUND_WINDOW = timedelta(days=180)
PAYMENT_STATUS = SearchAttributeKey.for_keyword("PaymentStatus")
"""Durapay's own attribute (``contracts.search_attributes``), registered on every dev server."""


@dataclass(frozen=True)
class BareShape:
    """What one payment does, in order: ``local:<step>`` and ``activity:<step>`` run the instant
    step as a local or a normal activity, ``upsert`` sets ``PaymentStatus``; ``refund_window``
    ends the run with a timer of that many seconds (none: the workflow completes). ``settle``
    says the client starts it with the ``settle`` update-with-start instead of awaiting it;
    ``notify_workflow_id``, a parent to signal ``payment_settled`` once settled (an invoice's
    payment tells its subscription, ``bench.bare_subscription``)."""

    steps: list[str]
    settle: bool
    refund_window: float | None
    notify_workflow_id: str | None = None


SHAPES = {
    "bare-2024": BareShape(
        [
            "local:payment.created",
            "activity:create",
            "local:provider.intent_created",
            "activity:confirm",
            "local:provider.confirmed",
        ],
        settle=False,
        refund_window=None,
    ),
    "bare": BareShape(
        [
            "local:risk",
            "local:payment.created",
            "local:create",
            "local:provider.intent_created",
            "local:confirm",
            "local:provider.confirmed",
            "upsert",
        ],
        settle=True,
        refund_window=REFUND_WINDOW.total_seconds(),
    ),
}


@activity.defn
async def instant_step(step: str) -> str:
    return step


@workflow.defn
class BarePaymentWorkflow:
    def __init__(self) -> None:
        self._settled = False

    @workflow.run
    async def run(self, shape: BareShape) -> str:
        for step in shape.steps:
            kind, _, name = step.partition(":")
            if kind == "local":
                await workflow.execute_local_activity(
                    instant_step, name, start_to_close_timeout=STEP_TIMEOUT
                )
            elif kind == "activity":
                await workflow.execute_activity(
                    instant_step, name, start_to_close_timeout=STEP_TIMEOUT
                )
            else:
                workflow.upsert_search_attributes([PAYMENT_STATUS.value_set("succeeded")])
        self._settled = True
        if shape.notify_workflow_id is not None:
            parent = workflow.get_external_workflow_handle(shape.notify_workflow_id)
            await parent.signal("payment_settled", workflow.info().workflow_id)
        if shape.refund_window is not None:
            await workflow.sleep(shape.refund_window)
        return workflow.info().workflow_id

    @workflow.update
    async def settle(self) -> str:
        """Answers once the payment settled, as Durapay's ``settle`` update does."""
        await workflow.wait_condition(lambda: self._settled)
        return "succeeded"
