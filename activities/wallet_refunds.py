"""Paying a withdrawal back: a refund of one deposit, through that deposit payment's own workflow.

A workflow cannot send an update to another workflow, so this activity does it with a Temporal
client, as ``subscription_refunds`` does: the refund runs under the payment's lock and limits
like any refund through the API. The update ID is the refund ID (derived from the withdrawal and
the deposit), and the payment's provider idempotency key derives from it, so a retried activity
or a restarted worker refunds once. A payment that refuses (closed, nothing left to refund) or a
refund the provider fails is an answer, not an error: the withdrawal releases that part.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities.subscription_refunds import refund_update
from contracts.ledger import DepositRefundResult, PlannedRefund
from contracts.payments import RefundRequest
from contracts.providers import RefundStatus

T = TypeVar("T")

HEARTBEAT_EVERY = timedelta(seconds=2)
"""How often the activity tells Temporal it is alive while the payment works on the refund: the
workflow's heartbeat timeout (a few of these) is how soon a killed worker's refund is retried
elsewhere, instead of after the whole start-to-close timeout."""


class WalletRefundActivities:
    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn(name="refund_deposit")
    async def refund_deposit(self, planned: PlannedRefund) -> DepositRefundResult:
        request = RefundRequest(
            refund_id=planned.refund_id,
            request_hash=f"withdrawal:{planned.refund_id}",
            amount=planned.amount,
            reason="requested_by_customer",
        )
        try:
            refund = await _heartbeating(refund_update(self._client, planned.payment_id, request))
        except WorkflowUpdateFailedError:
            return self._result(planned, refunded=False)
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            return self._result(planned, refunded=False)
        return self._result(planned, refunded=refund.status is not RefundStatus.FAILED)

    @staticmethod
    def _result(planned: PlannedRefund, *, refunded: bool) -> DepositRefundResult:
        return DepositRefundResult(
            refund_id=planned.refund_id,
            payment_id=planned.payment_id,
            amount=planned.amount,
            refunded=refunded,
        )


async def _heartbeating(work: Awaitable[T]) -> T:
    """``work``'s result, heartbeating while it runs; canceled with the activity."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_EVERY.total_seconds())
            if done:
                return task.result()
            activity.heartbeat()
    finally:
        task.cancel()
