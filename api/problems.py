"""The problem+json errors in the OpenAPI schema: the ``Problem`` model, ``problems(...)`` for a
route's ``responses=``, and the errors every route shares, derived from its dependencies.

A route names the ``services.errors`` classes its service can raise
(``responses=problems(errors.NotFound, errors.InvalidState)``); ``shared_problems`` says what
follows from the route's shape alone (the card guard's 413 and 422, validation, an unreadable
body's 400, the API key's 401 and 503, the admin role's 403, the Idempotency-Key's 400s), which
``api.openapi`` adds to every operation: no route repeats them, and a new route gets them by
using the same dependencies. Each status lists its codes as an ``enum`` and one example per
code: schemathesis checks every answer against it (tests/chaos/test_fuzz_api.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_flat_params
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from api import deps
from api.card_guard import EXEMPT_PREFIXES
from api.errors import PROBLEM_CONTENT_TYPE
from services import errors

REF_PREFIX = "#/components/schemas/"


class APIRouteLike(Protocol):
    """What ``shared_problems`` reads of a route (an ``APIRoute``, or FastAPI's context of one
    included with its router's prefix)."""

    path_format: str
    dependant: Dependant
    body_field: Any


class ProblemFieldError(BaseModel):
    """One failing field of a ``validation_error``: where it is, never its value."""

    loc: list[str] = Field(examples=[["body", "amount"]])
    msg: str = Field(examples=["Input should be greater than 0"])


class Problem(BaseModel):
    """An RFC 9457 problem, as ``api.errors`` renders every error: ``code`` is the stable,
    machine-readable part; ``title`` and ``detail`` are for people and may change."""

    type: str = Field(examples=["/problems/not_found"])
    title: str
    status: int
    detail: str
    code: str
    errors: list[ProblemFieldError] | None = Field(
        default=None, description="The failing fields (only with `validation_error`)."
    )
    decline_code: str | None = Field(
        default=None,
        description="The provider's reason (only with `payment_method_declined`), if it gave one.",
    )


def problem_schemas() -> dict[str, Any]:
    """``Problem`` and the model it uses, as ``components.schemas`` entries."""
    _, top = models_json_schema([(Problem, "serialization")], ref_template=REF_PREFIX + "{model}")
    definitions: dict[str, Any] = top["$defs"]
    return definitions


_EXAMPLE_EXTRAS: dict[str, dict[str, Any]] = {
    errors.ValidationFailed.code: {
        "errors": [{"loc": ["body", "amount"], "msg": "Input should be greater than 0"}]
    },
    errors.PaymentMethodDeclined.code: {"decline_code": "insufficient_funds"},
}


def _example(error: type[errors.AppError]) -> dict[str, Any]:
    value = {
        "type": f"/problems/{error.code}",
        "title": error.title,
        "status": error.status,
        "detail": error.title,
        "code": error.code,
        **_EXAMPLE_EXTRAS.get(error.code, {}),
    }
    return {"summary": error.title, "value": value}


def _response(
    status: int, examples: Mapping[str, Any], others: Mapping[str, Any]
) -> dict[str, Any]:
    """One status: its problem codes as an enum and an example each, beside any other content
    type the route answers with on that status (``/health``'s 503 report)."""
    codes = sorted(examples)
    schema = {
        "allOf": [{"$ref": REF_PREFIX + "Problem"}],
        "properties": {"status": {"const": status}, "code": {"enum": codes}},
    }
    listed = ", ".join(f"`{code}` ({examples[code]['summary']})" for code in codes)
    return {
        "description": f"Problem: {listed}.",
        **others,
        "content": {
            **others.get("content", {}),
            PROBLEM_CONTENT_TYPE: {
                "schema": schema,
                "examples": {code: examples[code] for code in codes},
            },
        },
    }


def _problem_examples(response: Mapping[str, Any]) -> dict[str, Any]:
    content = response.get("content", {}).get(PROBLEM_CONTENT_TYPE, {})
    return dict(content.get("examples", {}))


def _without_problems(response: Mapping[str, Any]) -> dict[str, Any]:
    """A response's own parts: any other content type, with its description (the problems'
    description is made anew from their codes)."""
    content = {
        media: value
        for media, value in response.get("content", {}).items()
        if media != PROBLEM_CONTENT_TYPE
    }
    own = {key: value for key, value in response.items() if key not in ("content", "description")}
    if content:
        own["content"] = content
    if content and "description" in response:
        own["description"] = response["description"]
    return own


def with_problems(
    responses: Mapping[str, Any], raised: Iterable[type[errors.AppError]]
) -> dict[str, Any]:
    """An operation's ``responses`` (keyed by status as in the schema) with ``raised`` added to
    the statuses they answer with, each keeping its other content types."""
    merged = dict(responses)
    by_status: dict[int, dict[str, Any]] = {}
    for error in raised:
        by_status.setdefault(error.status, {})[error.code] = _example(error)
    for status, examples in by_status.items():
        current = merged.get(str(status), {})
        merged[str(status)] = _response(
            status, {**_problem_examples(current), **examples}, _without_problems(current)
        )
    return merged


def problems(*raised: type[errors.AppError]) -> dict[int | str, Any]:
    """A route's ``responses=``: the errors its service can raise, by status, with their codes.
    What every route of its shape shares is added to the schema by ``shared_problems``."""
    return {int(status): response for status, response in with_problems({}, raised).items()}


def depends_on(dependant: Dependant, call: object) -> bool:
    """Whether ``call`` is among the dependencies of ``dependant``, at any depth."""
    return any(dep.call is call or depends_on(dep, call) for dep in dependant.dependencies)


def shared_problems(route: APIRouteLike) -> list[type[errors.AppError]]:
    """What a route can answer by its shape alone, whatever its service does."""
    shared: list[type[errors.AppError]] = [errors.PayloadTooLarge]
    if not route.path_format.startswith(EXEMPT_PREFIXES):
        shared += [errors.RawCardDataForbidden, errors.RateLimited]
    if get_flat_params(route.dependant) or route.body_field is not None:
        shared.append(errors.ValidationFailed)
    if route.body_field is not None:
        shared.append(errors.BadRequest)  # a body FastAPI cannot read (not UTF-8, say)
    if depends_on(route.dependant, deps.authenticated):
        shared += [errors.Unauthorized, errors.DatabaseUnavailable]
    if depends_on(route.dependant, deps.require_admin):
        shared.append(errors.Forbidden)
    if depends_on(route.dependant, deps.required_idempotency_key):
        shared += [errors.IdempotencyKeyRequired, errors.BadRequest]
    if depends_on(route.dependant, deps.optional_idempotency_key):
        shared.append(errors.BadRequest)
    return shared


def requires_idempotency_key(route: APIRouteLike) -> bool:
    return depends_on(route.dependant, deps.required_idempotency_key)
