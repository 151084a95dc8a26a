"""Waiting in real time for something the system does on its own (a worker's activities, a
webhook), with a deadline and the last value seen in the failure."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    read: Callable[[], Awaitable[T]], accept: Callable[[T], object], timeout: float = 20
) -> T:
    """Poll ``read`` in real time until ``accept`` says yes (activities need wall time)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await read()
        if accept(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still {value!r}")
        await asyncio.sleep(0.1)
