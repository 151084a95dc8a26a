"""Annotated dependencies: the services' runtime, the authenticated caller, the Idempotency-Key."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.api_keys import Principal, authenticate, record_use
from services.errors import BadRequest, Forbidden, IdempotencyKeyRequired, Unauthorized
from services.runtime import Runtime

BEARER_PREFIX = "bearer"
"""The ``Authorization`` scheme of an API key, compared without case (RFC 9110)."""

_PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]{1,255}$")

IdempotencyKeyHeader = Header(
    alias="Idempotency-Key",
    description=(
        "1-255 printable ASCII characters, unique per request: a retry with the same key and "
        "body gets the first answer again. Anything else is 400 `bad_request`."
    ),
    json_schema_extra={"pattern": "^[ -~]{1,255}$"},
)
"""The key's shape, published in the schema only: a key outside it is refused by
``_idempotency_key`` with the contract's 400, not by FastAPI's 422 validation error. For the
same reason a required key is declared optional here and shown as required in the schema
(``api.openapi``): a missing one is 400 ``idempotency_key_required``."""


async def get_runtime(request: Request) -> Runtime:
    """Dependencies are ``async def`` although none awaits: FastAPI runs a plain ``def``
    dependency in its thread pool, a thread hop per request for returning an attribute."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


@dataclass(frozen=True)
class PageQuery:
    """A list's cursor paging: at most ``limit`` rows, those after ``starting_after``'s."""

    limit: int
    starting_after: str | None


async def page_query(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: str | None = None,
) -> PageQuery:
    return PageQuery(limit=limit, starting_after=starting_after)


PageQueryDep = Annotated[PageQuery, Depends(page_query)]


bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    bearerFormat="sk_…",
    description="An API key, sent as `Authorization: Bearer sk_…`.",
)
"""The security scheme in the schema (Swagger UI's "Authorize" sends the header). It answers
``None`` rather than FastAPI's own 401/403 so that a missing key is our problem+json 401."""


async def authenticated(
    request: Request,
    runtime: RuntimeDep,
    after_answer: BackgroundTasks,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller's key, as the gate (``api.gate``) found it before the body was read, or else
    checked here in a session of its own that is closed before the route runs; its
    ``last_used_at`` is brought up to date once the answer is sent, and its id is left in the
    request's state for the access log."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        if credentials is None:
            raise Unauthorized("Send 'Authorization: Bearer <api key>'.")
        principal = await authenticate(
            runtime.database, credentials.credentials, runtime.settings.api_key_secret
        )
    after_answer.add_task(record_use, runtime.database, principal)
    request.state.api_key_id = principal.key_id
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticated)]


async def require_admin(principal: PrincipalDep) -> Principal:
    if not principal.is_admin:
        raise Forbidden("This route needs an admin API key.")
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]


def _idempotency_key(value: str | None, required: bool) -> str | None:
    if value is None:
        if required:
            raise IdempotencyKeyRequired(
                "Send an Idempotency-Key header (1-255 printable ASCII characters)."
            )
        return None
    if not _PRINTABLE_ASCII.match(value):
        raise BadRequest("Idempotency-Key must be 1-255 printable ASCII characters.")
    return value


async def required_idempotency_key(
    idempotency_key: Annotated[str | None, IdempotencyKeyHeader] = None,
) -> str:
    key = _idempotency_key(idempotency_key, required=True)
    assert key is not None
    return key


async def optional_idempotency_key(
    idempotency_key: Annotated[str | None, IdempotencyKeyHeader] = None,
) -> str | None:
    return _idempotency_key(idempotency_key, required=False)


IdempotencyKeyDep = Annotated[str, Depends(required_idempotency_key)]
OptionalIdempotencyKeyDep = Annotated[str | None, Depends(optional_idempotency_key)]
