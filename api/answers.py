"""The status of a create an Idempotency-Key can repeat, and its body from the resource."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Response, status
from pydantic import BaseModel

from services.outcome import Outcome

M = TypeVar("M", bound=BaseModel)


def created_or_found(model: type[M], outcome: Outcome[Any], response: Response) -> M:
    """201 (the route's default) when this request made the resource, 200 when an earlier
    request with the same key had."""
    if not outcome.created:
        response.status_code = status.HTTP_200_OK
    return model.model_validate(outcome.resource)


def found_again(
    model: type[BaseModel], description: str = "The same Idempotency-Key and body again"
) -> dict[int | str, dict[str, Any]]:
    """The schema's 200 of such a create: the resource an earlier request made."""
    return {200: {"model": model, "description": description}}
