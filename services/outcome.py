"""What a create that an Idempotency-Key can repeat answers: the resource, and who made it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """``created`` is True when this request made ``resource`` (201), False when an earlier
    request with the same key had made it and this one found it (200)."""

    resource: T
    created: bool
