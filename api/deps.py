"""Annotated dependencies: settings, Temporal client, database session, authenticated caller."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.errors import BadRequest, Forbidden, IdempotencyKeyRequired, Unauthorized
from api.idempotency import hash_api_key
from api.observability import Metrics
from api.paypal_signature import CertificateCache
from db.repositories import api_keys as api_keys_repo
from settings import Settings

_PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]{1,255}$")

IdempotencyKeyHeader = Header(
    description="1-255 printable ASCII characters; anything else is 400 bad_request.",
    json_schema_extra={"pattern": "^[ -~]{1,255}$"},
)
"""The key's shape, published in the schema only: a key outside it is refused by
``_idempotency_key`` with the contract's 400, not by FastAPI's 422 validation error."""


@dataclass
class Services:
    """What the lifespan builds once and every request shares."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    client: Client
    metrics: Metrics
    paypal_certs: CertificateCache


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account that owns everything they create, and their role."""

    account_id: str
    role: str
    key_id: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


async def get_services(request: Request) -> Services:
    """Dependencies are ``async def`` although none awaits: FastAPI runs a plain ``def``
    dependency in its thread pool, a thread hop per request for returning an attribute."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    async with services.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def authenticate(
    session: SessionDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    """Uses the request's own session (FastAPI resolves a dependency once per request)."""
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("Send 'Authorization: Bearer <api key>'.")
    found = await api_keys_repo.find_active_api_key(session, hash_api_key(key.strip()))
    if found is None:
        raise Unauthorized("The API key is unknown or revoked.")
    return Principal(account_id=found.account_id, role=found.role, key_id=found.id)


PrincipalDep = Annotated[Principal, Depends(authenticate)]


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
