"""How the API talks to workflows: start, update, query, signal — and how their errors read.

The API never decides anything about money: it asks the payment's workflow and reports its answer.
Workflow names are strings here because the API may import only ``workflows.types``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api import errors
from workflows.types import (
    AMOUNT_MINOR,
    CURRENCY,
    CUSTOMER_ID,
    PAYMENT_STATUS,
    PROVIDER,
    ErrorType,
    PaymentInput,
    PaymentState,
    PaymentStatus,
    PaymentView,
    SettleRequest,
    SettleResult,
)

PAYMENT_WORKFLOW = "PaymentWorkflow"
ATTACH_PAYMENT_METHOD_WORKFLOW = "AttachPaymentMethodWorkflow"

T = TypeVar("T")

_ERRORS_BY_TYPE: dict[str, type[errors.AppError]] = {
    ErrorType.IDEMPOTENCY_KEY_REUSED: errors.IdempotencyKeyReused,
    ErrorType.INVALID_STATE: errors.InvalidState,
    ErrorType.AMOUNT_EXCEEDS_CAPTURABLE: errors.AmountExceedsCapturable,
    ErrorType.REFUND_EXCEEDS_AVAILABLE: errors.RefundExceedsAvailable,
    ErrorType.PROVIDER_INVALID_REQUEST: errors.ProviderError,
    ErrorType.PROVIDER_AUTH_FAILED: errors.ProviderError,
}


@dataclass(frozen=True)
class StartOutcome:
    """What ``POST /v1/payments`` learned: the payment (settled or still processing), or that its
    workflow has already closed and the database holds the answer."""

    payment: PaymentView | None
    created: bool


def update_error(error: WorkflowUpdateFailedError) -> errors.AppError:
    """Translate a rejected or failed update into the public error it stands for."""
    cause: BaseException | None = error.cause
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = cause.__cause__
    if isinstance(cause, ApplicationError) and cause.type in _ERRORS_BY_TYPE:
        return _ERRORS_BY_TYPE[cause.type](cause.message)
    return errors.ServiceUnavailable("The payment could not process this request; retry later.")


def rpc_error(error: RPCError) -> errors.AppError:
    if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
        return errors.ServiceUnavailable("The workflow service is unavailable; retry later.")
    if error.status is RPCStatusCode.NOT_FOUND:
        return errors.InvalidState("This payment is closed to further changes.")
    return errors.ServiceUnavailable("The workflow service refused the request; retry later.")


def _search_attributes(payment: PaymentInput) -> TypedSearchAttributes:
    """Provider is known up front unless routing places the payment; the workflow sets it then."""
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(CUSTOMER_ID, payment.customer_id),
        SearchAttributePair(PAYMENT_STATUS, PaymentStatus.PROCESSING.value),
        SearchAttributePair(AMOUNT_MINOR, payment.amount),
        SearchAttributePair(CURRENCY, payment.currency),
    ]
    if payment.provider is not None:
        pairs.append(SearchAttributePair(PROVIDER, payment.provider.value))
    return TypedSearchAttributes(pairs)


async def start_payment(
    client: Client, task_queue: str, payment: PaymentInput, summary: str, wait: float
) -> StartOutcome:
    """Start (or join) the payment's workflow and wait a bounded time for it to settle."""
    operation: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
        PAYMENT_WORKFLOW,
        payment,
        id=payment.payment_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=_search_attributes(payment),
        static_summary=summary,
    )
    try:
        handle = await client.start_update_with_start_workflow(
            "settle",
            SettleRequest(request_hash=payment.request_hash),
            start_workflow_operation=operation,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            result_type=SettleResult,
        )
        try:
            result: SettleResult = await asyncio.wait_for(handle.result(), timeout=wait)
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            # Past the wait the SDK may turn the canceled poll into its own error, or not,
            # depending on whether a poll was in flight: both mean "not settled yet".
            state = await client.get_workflow_handle(payment.payment_id).query(
                "state", result_type=PaymentState
            )
            return StartOutcome(payment=state.payment, created=False)
    except WorkflowUpdateFailedError as error:
        raise update_error(error) from None
    except WorkflowAlreadyStartedError:
        return StartOutcome(payment=None, created=False)
    except RPCError as error:
        if error.status is RPCStatusCode.ALREADY_EXISTS:
            return StartOutcome(payment=None, created=False)
        raise rpc_error(error) from None
    return StartOutcome(payment=result.payment, created=result.created)


async def update_workflow(
    client: Client, workflow_id: str, update: str, arg: Any, update_id: str, result_type: type[T]
) -> T:
    """Send one update to a running workflow; Temporal dedupes it by ``update_id``."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        result: T = await handle.execute_update(update, arg, id=update_id, result_type=result_type)
    except WorkflowUpdateFailedError as error:
        raise update_error(error) from None
    except RPCError as error:
        raise rpc_error(error) from None
    return result


async def signal_workflow(client: Client, workflow_id: str, signal: str, arg: Any) -> bool:
    """Deliver a signal; False when the workflow is unknown or already closed."""
    try:
        await client.get_workflow_handle(workflow_id).signal(signal, arg)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return False
        raise rpc_error(error) from None
    return True
