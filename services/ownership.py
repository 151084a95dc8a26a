"""An account reaches only its own resources: another account's is as unknown as a missing one."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from services import errors

T = TypeVar("T")


async def owned(lookup: Awaitable[T | None], what: str) -> T:
    """The resource an account-scoped ``lookup`` found, or 404 ``No <what>.``"""
    found = await lookup
    if found is None:
        raise errors.NotFound(f"No {what}.")
    return found
