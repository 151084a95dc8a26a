"""How services talk to workflows: start, update, query, signal — and how their errors read.

The API never decides anything about money: it asks the resource's workflow and reports its answer.
Workflows are addressed by the names in ``contracts.workflow_names`` with contract types, so the
API loads no workflow or activity code. Every call first checks that the caller holds no database
session (``services.database.ensure_no_open_session``): a request never keeps a connection while it
waits on Temporal.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, GetSystemInfoRequest
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowFailureError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
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

from contracts.errors import ErrorType
from contracts.ledger import FundingInput, FundingSettleRequest, FundingView, WithdrawalInput
from contracts.payment_methods import AttachPaymentMethodInput, AttachPaymentMethodResult
from contracts.payments import (
    PaymentInput,
    PaymentState,
    PaymentStatus,
    PaymentView,
    SettleRequest,
    SettleResult,
)
from contracts.search_attributes import (
    AMOUNT_MINOR,
    CURRENCY,
    CUSTOMER_ID,
    PAYMENT_STATUS,
    PROVIDER,
    SUBSCRIPTION_STATUS,
)
from contracts.subscriptions import SubscriptionInput, SubscriptionStatus, SubscriptionView
from contracts.workflow_names import (
    STATE_QUERY,
    FundingUpdate,
    PaymentUpdate,
    SubscriptionUpdate,
    WorkflowName,
)
from services import errors
from services.database import ensure_no_open_session

T = TypeVar("T")
R = TypeVar("R")

_ERRORS_BY_TYPE: dict[str, type[errors.AppError]] = {
    ErrorType.IDEMPOTENCY_KEY_REUSED: errors.IdempotencyKeyReused,
    ErrorType.INVALID_STATE: errors.InvalidState,
    ErrorType.AMOUNT_EXCEEDS_CAPTURABLE: errors.AmountExceedsCapturable,
    ErrorType.REFUND_EXCEEDS_AVAILABLE: errors.RefundExceedsAvailable,
    ErrorType.PROVIDER_INVALID_REQUEST: errors.ProviderError,
    ErrorType.PROVIDER_AUTH_FAILED: errors.ProviderError,
    ErrorType.PLAN_CHANGE_DECLINED: errors.PaymentFailed,
    ErrorType.PLAN_CURRENCY_MISMATCH: errors.CurrencyMismatch,
    ErrorType.INVOICE_NOT_IN_DUNNING: errors.InvoiceNotInDunning,
}


@dataclass(frozen=True)
class StartOutcome:
    """What ``POST /v1/payments`` learned: the payment (settled or still processing), or that its
    workflow has already closed and the database holds the answer."""

    payment: PaymentView | None
    created: bool


@dataclass(frozen=True)
class SubscriptionStart:
    """What ``POST /v1/subscriptions`` learned. ``subscription`` is ``None`` when the workflow has
    already closed (the database holds the answer); ``begun`` is False when the bounded wait ran
    out before the trial started or the first invoice was settled."""

    subscription: SubscriptionView | None
    begun: bool
    created: bool
    request_hash: str | None
    """The fingerprint of the request that started the workflow (``None`` if unreadable)."""


@dataclass(frozen=True)
class _Answer(Generic[R]):
    """An update-with-start's outcome: the update's result, or ``None`` when the wait ran out."""

    result: R | None


QUERY_WAIT = timedelta(seconds=15)
"""How long a request waits for a worker to answer a query before reading the database: long
enough for a workflow task held up by a slow local activity (a locked database), short enough
that a request does not hang on a worker that is gone."""
UPDATE_ADMISSION_WAIT = 20.0
"""How long a capture, refund, cancel or subscription change waits for Temporal to admit its
update while the workflow is at its in-flight update limit (see ``_admitted``)."""
_ADMISSION_FIRST_PAUSE = 0.05
_ADMISSION_MAX_PAUSE = 1.0

REQUEST_HASH_MEMO = "request_hash"
STARTED_BY_MEMO = "started_by"
"""Memo keys of a subscription workflow: the fingerprint of the request that started it, and that
request's own random id, by which a request tells that it (not a concurrent retry) started it."""


def update_error(error: WorkflowUpdateFailedError) -> errors.AppError:
    """Translate a rejected or failed update into the public error it stands for."""
    cause: BaseException | None = error.cause
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = cause.__cause__
    if isinstance(cause, ApplicationError) and cause.type in _ERRORS_BY_TYPE:
        return _ERRORS_BY_TYPE[cause.type](cause.message)
    return errors.ServiceUnavailable("The workflow could not process this request; retry later.")


def rpc_error(error: RPCError) -> errors.AppError:
    if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
        return errors.ServiceUnavailable("The workflow service is unavailable; retry later.")
    if error.status is RPCStatusCode.NOT_FOUND:
        return errors.InvalidState("This resource is closed to further changes.")
    return errors.ServiceUnavailable("The workflow service refused the request; retry later.")


@asynccontextmanager
async def _public_errors() -> AsyncIterator[None]:
    """Whatever Temporal raises inside leaves as the public error it stands for."""
    try:
        yield
    except WorkflowUpdateFailedError as error:
        raise update_error(error) from None
    except RPCError as error:
        raise rpc_error(error) from None


@dataclass(frozen=True)
class _Start:
    """Start a workflow whose ID is its resource's: concurrent retries join the one running
    (``USE_EXISTING``), and a closed one is never started again (``REJECT_DUPLICATE``)."""

    workflow: str
    arg: Any
    workflow_id: str
    task_queue: str
    search_attributes: TypedSearchAttributes
    summary: str
    memo: Mapping[str, str] | None = None

    def operation(self) -> WithStartWorkflowOperation[Any, Any]:
        """A new operation each time: a ``WithStartWorkflowOperation`` is single-use."""
        return WithStartWorkflowOperation(
            self.workflow,
            self.arg,
            id=self.workflow_id,
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=self.search_attributes,
            static_summary=self.summary,
            memo=self.memo,
        )


async def _admitted(call: Callable[[], Awaitable[T]], wait: float) -> T:
    """``call()``, sent again while Temporal refuses it for the workflow's in-flight update limit;
    ``call`` must build its request anew each time (a ``WithStartWorkflowOperation`` is single-use).

    Temporal runs at most a fixed number of updates at once per workflow (10 by default) and
    answers RESOURCE_EXHAUSTED beyond it, so a burst of requests on one payment (a client retrying
    one Idempotency-Key, many refunds) would otherwise get 503s for work the workflow would gladly
    do a moment later. Resending is safe: an update-with-start joins the running workflow and an
    update with the same ID is applied once. After ``wait`` seconds the refusal stands (503).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    pause = _ADMISSION_FIRST_PAUSE
    while True:
        try:
            return await call()
        except RPCError as error:
            if error.status is not RPCStatusCode.RESOURCE_EXHAUSTED or loop.time() >= deadline:
                raise
        await asyncio.sleep(min(pause * random.uniform(0.5, 1.5), max(deadline - loop.time(), 0)))
        pause = min(pause * 2, _ADMISSION_MAX_PAUSE)


async def _bounded(
    started: Callable[[], Awaitable[WorkflowUpdateHandle[R]]], wait: float
) -> _Answer[R] | None:
    """Start an update-with-start and await its result, for at most ``wait`` seconds in all.

    ``None`` when the workflow had already closed: its ID is never reused, so the database holds
    the answer. Other failures leave as public errors (wrap the call in ``_public_errors``).
    """
    deadline = asyncio.get_running_loop().time() + wait
    try:
        handle = await _admitted(started, wait)
    except WorkflowAlreadyStartedError:
        return None
    except RPCError as error:
        if error.status is RPCStatusCode.ALREADY_EXISTS:
            return None
        raise
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        # The workflow started, but no worker took its first task before Temporal's long poll
        # ended (every worker crashed, say): "not there yet", like a settle wait running out.
        return _Answer(None)
    # An update the workflow finished in the very task that accepted it (a card charged by
    # local activities) came back with its outcome: ``wait`` gives the result its first step
    # before the time left runs out, even when none is left, so that outcome is never dropped.
    result = asyncio.ensure_future(handle.result())
    remaining = max(deadline - asyncio.get_running_loop().time(), 0)
    done, _ = await asyncio.wait({result}, timeout=remaining)
    if not done:
        result.cancel()
        await asyncio.wait({result})
        if not result.cancelled():
            result.exception()  # whatever the canceled poll ended with is "not there yet" too
        return _Answer(None)
    try:
        return _Answer(result.result())
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        # Past the wait the SDK may turn the canceled poll into its own error, or not,
        # depending on whether a poll was in flight: both mean "not there yet".
        return _Answer(None)


async def _update_with_start(
    client: Client,
    start: _Start,
    update: str,
    args: Sequence[Any],
    result_type: type[R],
    wait: float,
) -> _Answer[R] | None:
    """``_bounded`` on an update-with-start that waits for the update to be accepted."""
    return await _bounded(
        lambda: client.start_update_with_start_workflow(
            update,
            args=args,
            start_workflow_operation=start.operation(),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            result_type=result_type,
        ),
        wait,
    )


async def _state_now(client: Client, workflow_id: str, result_type: type[T]) -> T | None:
    """The workflow's state query, or None when no worker answers in time."""
    return await _answered(
        client.get_workflow_handle(workflow_id).query(
            STATE_QUERY, result_type=result_type, rpc_timeout=QUERY_WAIT
        )
    )


async def _answered(query: Awaitable[T]) -> T | None:
    """A query needs a worker to answer it; with none polling, the caller falls back to the
    database instead of holding the request until the RPC deadline."""
    try:
        return await query
    except (RPCError, WorkflowQueryFailedError):
        return None


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
    ensure_no_open_session()

    start = _Start(
        WorkflowName.PAYMENT,
        payment,
        payment.payment_id,
        task_queue,
        _search_attributes(payment),
        summary,
    )
    async with _public_errors():
        answer = await _update_with_start(
            client,
            start,
            PaymentUpdate.SETTLE,
            [SettleRequest(request_hash=payment.request_hash)],
            SettleResult,
            wait,
        )
        if answer is None:
            return StartOutcome(payment=None, created=False)
        if answer.result is None:
            state = await _state_now(client, payment.payment_id, PaymentState)
            return StartOutcome(payment=state.payment if state else None, created=False)
    settled: SettleResult = answer.result
    return StartOutcome(payment=settled.payment, created=settled.created)


async def start_funding(
    client: Client, task_queue: str, funding: FundingInput, summary: str, wait: float
) -> FundingView | None:
    """Start (or join) a purchase's or deposit's workflow and wait a bounded time for it to grant
    or fail; ``None`` when the wait ran out or the workflow has closed (the database answers)."""
    ensure_no_open_session()
    start = _Start(
        WorkflowName.FUNDING,
        funding,
        funding.funding_id,
        task_queue,
        TypedSearchAttributes(
            [
                SearchAttributePair(CUSTOMER_ID, funding.customer_id),
                SearchAttributePair(AMOUNT_MINOR, funding.payment.amount),
                SearchAttributePair(CURRENCY, funding.payment.currency),
            ]
        ),
        summary,
    )
    async with _public_errors():
        answer = await _update_with_start(
            client,
            start,
            FundingUpdate.SETTLE,
            [FundingSettleRequest(funding.funding_id)],
            FundingView,
            wait,
        )
    return None if answer is None else answer.result


async def start_withdrawal(
    client: Client, task_queue: str, withdrawal: WithdrawalInput, summary: str
) -> None:
    """Start a locked withdrawal's workflow; one already running or finished is left alone."""
    ensure_no_open_session()
    try:
        async with _public_errors():
            await client.start_workflow(
                WorkflowName.WITHDRAWAL,
                withdrawal,
                id=withdrawal.withdrawal_id,
                task_queue=task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(CUSTOMER_ID, withdrawal.customer_id),
                        SearchAttributePair(AMOUNT_MINOR, withdrawal.amount),
                        SearchAttributePair(CURRENCY, withdrawal.currency),
                    ]
                ),
                static_summary=summary,
            )
    except WorkflowAlreadyStartedError:
        return


async def start_subscription(
    client: Client,
    task_queue: str,
    subscription: SubscriptionInput,
    request_hash: str,
    summary: str,
    wait: float,
) -> SubscriptionStart:
    """Start (or join) the subscription's workflow and wait a bounded time for it to begin.

    The subscription input has no place for the request's fingerprint, so it travels in the
    workflow's memo (kept across continue-as-new); a request that joined a running workflow reads
    it back to tell a retry from a reused Idempotency-Key.
    """
    ensure_no_open_session()
    started_by = secrets.token_hex(16)
    status = (
        SubscriptionStatus.TRIALING
        if subscription.trial_days > 0
        else SubscriptionStatus.INCOMPLETE
    )

    start = _Start(
        WorkflowName.SUBSCRIPTION,
        subscription,
        subscription.subscription_id,
        task_queue,
        TypedSearchAttributes(
            [
                SearchAttributePair(CUSTOMER_ID, subscription.customer_id),
                SearchAttributePair(SUBSCRIPTION_STATUS, status.value),
            ]
        ),
        summary,
        {REQUEST_HASH_MEMO: request_hash, STARTED_BY_MEMO: started_by},
    )
    async with _public_errors():
        answer = await _update_with_start(
            client, start, SubscriptionUpdate.BEGUN, [], SubscriptionView, wait
        )
        view = answer.result if answer is not None else None
        if answer is not None and view is None:
            view = await _state_now(client, subscription.subscription_id, SubscriptionView)
        memo = await _start_memo(client, subscription.subscription_id)
    return SubscriptionStart(
        view,
        begun=answer is not None and answer.result is not None,
        created=memo.get(STARTED_BY_MEMO) == started_by,
        request_hash=memo.get(REQUEST_HASH_MEMO),
    )


async def start_request_hash(client: Client, workflow_id: str) -> str | None:
    """The fingerprint of the request that started the workflow; ``None`` once Temporal has
    forgotten the workflow (past its retention), when nothing can be compared any more."""
    ensure_no_open_session()
    return (await _start_memo(client, workflow_id)).get(REQUEST_HASH_MEMO)


async def _start_memo(client: Client, workflow_id: str) -> dict[str, str]:
    """Read from the workflow itself (not search visibility), so it is there at once."""
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return {}
        raise rpc_error(error) from None
    memo = await description.memo()
    return {key: value for key, value in memo.items() if isinstance(value, str)}


async def update_workflow(
    client: Client,
    workflow_id: str,
    update: str,
    arg: Any,
    update_id: str,
    result_type: type[T],
) -> T:
    """Send one update to a running workflow; Temporal dedupes it by ``update_id``.

    ``arg`` ``None`` sends an update that takes no argument.
    """
    ensure_no_open_session()
    handle = client.get_workflow_handle(workflow_id)
    args = [] if arg is None else [arg]
    async with _public_errors():
        return await _admitted(
            lambda: handle.execute_update(update, args=args, id=update_id, result_type=result_type),
            UPDATE_ADMISSION_WAIT,
        )


async def signal_workflow(client: Client, workflow_id: str, signal: str, arg: Any) -> bool:
    """Deliver a signal; False when the workflow is unknown or already closed."""
    ensure_no_open_session()
    try:
        await client.get_workflow_handle(workflow_id).signal(signal, arg)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return False
        raise rpc_error(error) from None
    return True


async def attach_payment_method(
    client: Client, task_queue: str, method: AttachPaymentMethodInput, summary: str
) -> AttachPaymentMethodResult:
    """Run the workflow that has the provider check a token and records the method.

    One run per method at a time (``USE_EXISTING``); a method saved, then deleted, may be saved
    again by a later run (``ALLOW_DUPLICATE``).
    """
    ensure_no_open_session()
    try:
        result: AttachPaymentMethodResult = await client.execute_workflow(
            WorkflowName.ATTACH_PAYMENT_METHOD,
            method,
            id=f"attach_{method.payment_method_id}",
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            static_summary=summary,
            result_type=AttachPaymentMethodResult,
        )
    except WorkflowFailureError:
        raise errors.ServiceUnavailable("The provider could not be reached; retry later.") from None
    except RPCError as error:
        raise rpc_error(error) from None
    return result


async def reachable(client: Client, timeout: float) -> bool:
    """Whether the Temporal service answers within ``timeout`` seconds."""
    ensure_no_open_session()
    try:
        async with asyncio.timeout(timeout):
            await client.workflow_service.get_system_info(GetSystemInfoRequest())
    except Exception:
        return False
    return True


POLLER_FRESHNESS = timedelta(minutes=2)
"""A worker's long poll for workflow tasks lasts up to a minute, then it polls again at once."""


async def worker_polling(client: Client, task_queue: str, timeout: float) -> bool | None:
    """Whether a worker polls ``task_queue`` for workflow tasks now (Temporal's
    DescribeTaskQueue), ``None`` when Temporal does not answer within ``timeout`` seconds.

    Temporal lists a poller for minutes after it was last seen (a killed worker too), so only
    one seen within ``POLLER_FRESHNESS`` counts."""
    ensure_no_open_session()
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    try:
        async with asyncio.timeout(timeout):
            described = await client.workflow_service.describe_task_queue(request)
    except Exception:
        return None
    seen_since = datetime.now(UTC) - POLLER_FRESHNESS
    return any(
        poller.last_access_time.ToDatetime(tzinfo=UTC) >= seen_since for poller in described.pollers
    )
