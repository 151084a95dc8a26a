"""API keys on the wire: a secret appears only in the answer that made it (``ApiKeyCreated``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from api.schemas.common import Request, Response
from services.api_keys import DEFAULT_ROLL_OVERLAP, MAX_ROLL_OVERLAP, Role


class ApiKeyCreate(Request):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: Role


class ApiKeyRoll(Request):
    expires_in: Annotated[int, Field(ge=0, le=MAX_ROLL_OVERLAP)] = DEFAULT_ROLL_OVERLAP
    """Seconds the old secret keeps working; 0 retires it at once."""


class ApiKeyOut(Response):
    id: str
    name: str
    role: Role
    account_id: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    secret: str
    """``sk_…``: shown in this answer only; Durapay stores its hash."""
