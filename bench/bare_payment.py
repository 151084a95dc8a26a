"""The ceiling for ``bench.payments``: a workflow with the shape of Durapay's automatic saved-card
payment and nothing else.

``PaymentWorkflow`` records a transition (a local activity), creates the intent (an activity),
records, confirms (an activity) and records again: three local activities and two activities, in
that order. Here each of them returns its argument at once, so what is left is Temporal's own cost
for that shape; the difference to Durapay is what Durapay adds. This module imports nothing but
the SDK, so the workflow sandbox loads it cheaply.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

STEP_TIMEOUT = timedelta(seconds=10)


@activity.defn
async def instant_step(step: str) -> str:
    return step


@workflow.defn
class BarePaymentWorkflow:
    @workflow.run
    async def run(self, payment_id: str) -> str:
        await self._record("payment.created")
        await self._provider("create")
        await self._record("provider.intent_created")
        await self._provider("confirm")
        await self._record("provider.confirmed")
        return payment_id

    async def _record(self, step: str) -> None:
        await workflow.execute_local_activity(
            instant_step, step, start_to_close_timeout=STEP_TIMEOUT
        )

    async def _provider(self, step: str) -> None:
        await workflow.execute_activity(instant_step, step, start_to_close_timeout=STEP_TIMEOUT)
