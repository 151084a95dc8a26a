"""How ``PaymentWorkflow`` calls a provider: the happy path's charge as local activities, every
retry and every other call as a normal activity.

A normal activity costs three history events and a round trip through the Temporal server for
its task, then three more for the workflow task that reads its result. On the happy path of a
card payment the provider answers at once, so its create and confirm run as local activities in
the workflow task that is already running: one marker each.

Only the first attempt runs locally. Whatever makes it fail, the same call, with the same
idempotency key (derived from the payment and the step, never the attempt), continues as a
normal activity with the usual retries and bounds, after the delay the provider asked for if it
did; an outage is waited out visibly in the history as before. A failure the policy does not
retry (an invalid request, refused credentials) then fails the normal activity at once and is
reported exactly as before, as an ``ActivityError`` (a local attempt raises the bare cause);
sending such a request twice moves no money.

A local activity's result is kept only once its workflow task completes. A task lost before
that (its worker killed) runs the charge again: the confirm re-reads the intent before
confirming it, and the create reads back an intent already recorded against the payment
(``PaymentActivities.create_intent``).

Payments started before this change keep their normal activities: ``LOCAL_FIRST_PATCH``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, FailureError

with workflow.unsafe.imports_passed_through():
    from workflows.policies.retries import PROVIDER_RETRY_POLICY

LOCAL_FIRST_PATCH = "provider-calls-local-first"
"""Payments started before this change call the provider as normal activities only. A payment
started after it runs its risk steps too, without asking the older ``risk-assessment`` patch:
one patch marker per new history, not two."""

FIRST_ATTEMPT_ONLY = RetryPolicy(maximum_attempts=1)

LOCAL_ATTEMPT_TIMEOUT = timedelta(seconds=3)
"""The longest a local attempt may take (or the provider call's own timeout, if shorter). The
workflow task that runs it answers ``POST /v1/payments`` (its settle update is accepted when the
task completes), so a provider slower than this is left to a normal activity, and the request's
bounded wait (``DURAPAY_PAYMENT_SETTLE_WAIT``) keeps its meaning."""


async def _wait_as_asked(error: FailureError) -> None:
    """Hold the next attempt back as long as the provider asked (a ``Retry-After``, carried as
    ``next_retry_delay``), as the retry policy does between the normal activity's attempts."""
    cause = error.cause if isinstance(error, ActivityError) else error
    if isinstance(cause, ApplicationError) and cause.next_retry_delay:
        await workflow.sleep(cause.next_retry_delay)


async def call_provider(
    activity: Any,
    call: Any,
    timeout: timedelta,
    give_up_after: timedelta | None = None,
    local_first: bool = False,
) -> Any:
    """One provider call, retried while it fails retryably; ``give_up_after`` bounds the
    retries (Temporal's schedule-to-close), otherwise they last as long as the outage. With
    ``local_first``, the first attempt is a local activity (see the module's docstring)."""
    if local_first:
        try:
            return await workflow.execute_local_activity_method(
                activity,
                call,
                start_to_close_timeout=min(timeout, LOCAL_ATTEMPT_TIMEOUT),
                retry_policy=FIRST_ATTEMPT_ONLY,
            )
        except CancelledError:
            raise
        except FailureError as error:
            await _wait_as_asked(error)
    return await workflow.execute_activity_method(
        activity,
        call,
        start_to_close_timeout=timeout,
        schedule_to_close_timeout=give_up_after,
        retry_policy=PROVIDER_RETRY_POLICY,
    )


CHARGE_WAIT = timedelta(seconds=30)
"""How long a capture or refund waits for a charge in flight before it is refused as usual."""


async def after_the_charge(charging: Callable[[], bool]) -> None:
    """Let a capture or refund that arrives while the charge is in flight wait for it (a
    bounded time) before it is checked as usual. The database may already show the charge's
    outcome while the workflow runs the charge again: a workflow task whose local results were
    lost with its worker or server runs again, its steps already recorded once."""
    if charging():
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: not charging(), timeout=CHARGE_WAIT)
