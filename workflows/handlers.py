"""``update``: ``workflow.update(name=…)`` typed as the bare decorator is.

temporalio's overload for a named update types an ``async def`` handler's result as the coroutine
it returns, where the bare ``@workflow.update`` overload unwraps it; callers that address an update
by reference (``handle.execute_update(PaymentWorkflow.capture, …)``) would then be told they get
a coroutine back. Every update handler here is ``async``, so this wrapper states that once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar, cast

from temporalio import workflow

Params = ParamSpec("Params")
Result = TypeVar("Result")


def update(
    name: str,
) -> Callable[
    [Callable[Params, Awaitable[Result]]], workflow.UpdateMethodMultiParam[Params, Result]
]:
    """``@workflow.update(name=name)`` for an ``async def`` handler."""
    return cast(
        Callable[
            [Callable[Params, Awaitable[Result]]],
            workflow.UpdateMethodMultiParam[Params, Result],
        ],
        workflow.update(name=name),
    )
