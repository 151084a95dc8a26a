"""Refunds a subscription gives when it is canceled now with ``prorate_refund``.

A workflow cannot send an update to another workflow, so this activity does it with a Temporal
client: the refund goes through the invoice payment's own ``refund`` update, under that payment's
lock and limits like any refund through the API, with the provider idempotency key it derives.
The update ID is the refund ID, so a retried activity refunds once.
"""

from __future__ import annotations

from collections.abc import Awaitable

from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from contracts.errors import ErrorType
from contracts.payments import RefundRequest, RefundView
from contracts.subscriptions import UnusedTimeRefund
from contracts.workflow_names import PaymentUpdate


def refund_update(client: Client, payment_id: str, request: RefundRequest) -> Awaitable[RefundView]:
    """The payment's own ``refund`` update, whose update ID is the refund ID: however often an
    activity sends it, the payment refunds once."""
    return client.get_workflow_handle(payment_id).execute_update(
        PaymentUpdate.REFUND, request, id=request.refund_id, result_type=RefundView
    )


class SubscriptionRefundActivities:
    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn(name="refund_unused_time")
    async def refund_unused_time(self, refund: UnusedTimeRefund) -> RefundView:
        request = RefundRequest(
            refund_id=refund.refund_id,
            request_hash=f"unused-time:{refund.refund_id}",
            amount=refund.amount,
            reason=refund.reason,
        )
        try:
            result = await refund_update(self._client, refund.payment_id, request)
        except WorkflowUpdateFailedError as error:
            raise ApplicationError(
                f"{refund.payment_id} refused the refund: {error.cause}",
                type=ErrorType.REFUND_NOT_POSSIBLE,
                non_retryable=True,
            ) from None
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            raise ApplicationError(
                f"{refund.payment_id} is closed (past its refund window)",
                type=ErrorType.REFUND_NOT_POSSIBLE,
                non_retryable=True,
            ) from None
        return result
