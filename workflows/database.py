"""How a workflow calls the activities that read or write Durapay's database.

Those activities are idempotent (versioned upserts, unique keys), so they retry until the database
answers: an outage delays a workflow but never loses a state change. Short steps run as local
activities (no extra round trip through the server); billing calls run as normal activities.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.policies.retries import DB_TIMEOUT, RECORD_RETRY_POLICY, RECORD_TIMEOUT

Argument = TypeVar("Argument")
Result = TypeVar("Result")


async def call_database_locally(
    activity: Callable[[Any, Argument], Awaitable[Result]],
    argument: Argument,
    timeout: timedelta = RECORD_TIMEOUT,
) -> Result:
    """One database activity as a local activity."""
    return await workflow.execute_local_activity_method(
        activity, argument, start_to_close_timeout=timeout, retry_policy=RECORD_RETRY_POLICY
    )


async def call_database(
    activity: Callable[[Any, Argument], Awaitable[Result]], argument: Argument
) -> Result:
    """One database activity (invoices, dunning cases, charge targets) as a normal activity."""
    return await workflow.execute_activity_method(
        activity, argument, start_to_close_timeout=DB_TIMEOUT, retry_policy=RECORD_RETRY_POLICY
    )
