"""Webhook endpoints, delivery attempts and the event log on the wire. A signing secret appears
only in the answer that made it (``WebhookEndpointCreated``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Description, Request, Response
from services.webhooks_out import DEFAULT_ROLL_OVERLAP, MAX_ROLL_OVERLAP


class WebhookEndpointCreate(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://shop.example/webhooks/durapay",
                    "events": ["payment.succeeded", "payment.failed"],
                    "description": "Order fulfilment",
                },
                {"url": "https://shop.example/webhooks/all", "events": ["*"]},
            ]
        }
    )

    url: Annotated[str, Field(max_length=2048, pattern=r"^https?://[^\s/?#]+([/?#]\S*)?$")]
    """An http(s) URL with a host and no whitespace (production: https on a public address)."""
    events: Annotated[list[Annotated[str, Field(max_length=64)]], Field(min_length=1)]
    """Event types (``payment.succeeded`` …), or ``["*"]`` for every type."""
    description: Description | None = None


class WebhookEndpointRoll(Request):
    expires_in: Annotated[int, Field(ge=0, le=MAX_ROLL_OVERLAP)] = DEFAULT_ROLL_OVERLAP
    """Seconds the current secret keeps signing beside the new one; 0 retires it at once."""


class WebhookEndpointOut(Response):
    id: str
    url: str
    events: list[str]
    description: str | None
    status: str
    """``enabled``, or ``disabled`` after three days of failed deliveries."""
    created_at: datetime
    disabled_at: datetime | None
    previous_secret_expires_at: datetime | None
    """After a roll: until when the previous secret signs too."""


class WebhookEndpointCreated(WebhookEndpointOut):
    secret: str
    """``whsec_…``: shown in this answer only; verify deliveries with it (Standard Webhooks)."""


class DeliveryAttemptOut(Response):
    id: str
    delivery_id: str
    event_id: str
    attempt: int
    status: str
    """``delivered`` (the endpoint answered 2xx) or ``failed``."""
    response_code: int | None
    error: str | None
    created_at: datetime


class EventOut(BaseModel):
    id: str
    type: str
    created_at: datetime
    data: dict[str, Any]
    """``{"object": <the resource as the API answers it>}``."""


class RedeliveryOut(BaseModel):
    event_id: str
    deliveries: list[str]
    """The delivery workflows started, one per endpoint that wants the event."""
