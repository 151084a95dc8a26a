"""Alerts and the audit log on the wire (admin routes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from api.schemas.common import Request, Response


class AlertOut(Response):
    id: str
    kind: str
    severity: Literal["low", "medium", "high"]
    customer_id: str | None
    payment_id: str | None
    detail: str
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None


class AlertResolve(Request):
    resolution: Annotated[str, Field(min_length=1, max_length=2000)]


class AuditActor(BaseModel):
    type: Literal["api_key", "public_token", "operator", "system"]
    id: str | None


class AuditEntryOut(Response):
    id: str
    at: datetime
    actor: AuditActor
    ip: str | None
    request_id: str | None
    action: str
    resource_id: str | None
    outcome: int
    """The HTTP status the caller got (200 for a decision taken in a workflow)."""
    details: dict[str, Any]
    prev_hash: str
    hash: str

    @model_validator(mode="before")
    @classmethod
    def _actor_from_columns(cls, row: Any) -> Any:
        """The table keeps the actor in two columns; the answer nests them."""
        if isinstance(row, dict):
            return row
        fields = {name: getattr(row, name) for name in cls.model_fields if name != "actor"}
        return {**fields, "actor": {"type": row.actor_type, "id": row.actor_id}}


class AuditVerification(Response):
    ok: bool
    checked: int
    first_bad_id: str | None
