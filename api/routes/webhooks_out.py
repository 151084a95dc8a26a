"""Webhooks to merchants: endpoints, their delivery attempts, the event log and redelivery."""

from __future__ import annotations

from asgi_correlation_id import correlation_id
from fastapi import APIRouter, Request, status

from api.deps import PageQueryDep, PrincipalDep, RuntimeDep
from api.problems import problems
from api.schemas.common import Page, page_of
from api.schemas.webhooks_out import (
    DeliveryAttemptOut,
    EventOut,
    RedeliveryOut,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointOut,
    WebhookEndpointRoll,
)
from services import errors, webhooks_out
from services.api_keys import Principal

router = APIRouter(prefix="/v1", tags=["webhooks to merchants"])


def _caller(request: Request, principal: Principal) -> webhooks_out.Caller:
    return webhooks_out.Caller(
        account_id=principal.account_id,
        key_id=principal.key_id,
        ip=request.client.host if request.client else None,
        request_id=correlation_id.get(),
    )


@router.post(
    "/webhook-endpoints",
    status_code=status.HTTP_201_CREATED,
    responses=problems(errors.ValidationFailed),
)
async def create_webhook_endpoint(
    body: WebhookEndpointCreate, request: Request, principal: PrincipalDep, runtime: RuntimeDep
) -> WebhookEndpointCreated:
    """Register a URL for the given event types; the signing secret is in this answer only."""
    created = await webhooks_out.create_endpoint(
        runtime, _caller(request, principal), body.url, body.events, body.description
    )
    return WebhookEndpointCreated.model_validate(created)


@router.get("/webhook-endpoints")
async def list_webhook_endpoints(
    principal: PrincipalDep, runtime: RuntimeDep, paging: PageQueryDep
) -> Page[WebhookEndpointOut]:
    rows, has_more = await webhooks_out.list_endpoints(
        runtime.database,
        principal.account_id,
        limit=paging.limit,
        starting_after=paging.starting_after,
    )
    return page_of(WebhookEndpointOut, rows, has_more)


@router.get("/webhook-endpoints/{endpoint_id}", responses=problems(errors.NotFound))
async def get_webhook_endpoint(
    endpoint_id: str, principal: PrincipalDep, runtime: RuntimeDep
) -> WebhookEndpointOut:
    return WebhookEndpointOut.model_validate(
        await webhooks_out.get_endpoint(runtime.database, principal.account_id, endpoint_id)
    )


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(errors.NotFound),
)
async def delete_webhook_endpoint(
    endpoint_id: str, request: Request, principal: PrincipalDep, runtime: RuntimeDep
) -> None:
    """Nothing more is sent to it, not even the retries of deliveries already under way."""
    await webhooks_out.delete_endpoint(runtime.database, _caller(request, principal), endpoint_id)


@router.post(
    "/webhook-endpoints/{endpoint_id}/roll-secret",
    responses=problems(errors.NotFound),
)
async def roll_webhook_endpoint_secret(
    endpoint_id: str,
    request: Request,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    body: WebhookEndpointRoll | None = None,
) -> WebhookEndpointCreated:
    """A new secret; deliveries carry both signatures until ``expires_in`` seconds have passed."""
    expires_in = (body or WebhookEndpointRoll()).expires_in
    rolled = await webhooks_out.roll_secret(
        runtime, _caller(request, principal), endpoint_id, expires_in
    )
    return WebhookEndpointCreated.model_validate(rolled)


@router.get("/webhook-endpoints/{endpoint_id}/deliveries", responses=problems(errors.NotFound))
async def list_webhook_deliveries(
    endpoint_id: str, principal: PrincipalDep, runtime: RuntimeDep, paging: PageQueryDep
) -> Page[DeliveryAttemptOut]:
    """Every attempt to deliver to this endpoint, newest first, with its outcome."""
    rows, has_more = await webhooks_out.list_attempts(
        runtime.database,
        principal.account_id,
        endpoint_id,
        limit=paging.limit,
        starting_after=paging.starting_after,
    )
    return page_of(DeliveryAttemptOut, rows, has_more)


@router.get("/events")
async def list_events(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    paging: PageQueryDep,
    type: str | None = None,
) -> Page[EventOut]:
    """The account's events of the last 30 days, newest first; ``type`` filters."""
    rows, has_more = await webhooks_out.list_events(
        runtime.database,
        principal.account_id,
        type=type,
        limit=paging.limit,
        starting_after=paging.starting_after,
    )
    return page_of(EventOut, rows, has_more)


@router.get("/events/{event_id}", responses=problems(errors.NotFound))
async def get_event(event_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> EventOut:
    return EventOut.model_validate(
        await webhooks_out.get_event(runtime.database, principal.account_id, event_id)
    )


@router.post(
    "/events/{event_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problems(errors.NotFound),
)
async def redeliver_event(
    event_id: str, request: Request, principal: PrincipalDep, runtime: RuntimeDep
) -> RedeliveryOut:
    """Deliver the event again now to every enabled endpoint that wants it (new attempts)."""
    started = await webhooks_out.redeliver(runtime, _caller(request, principal), event_id)
    return RedeliveryOut(event_id=event_id, deliveries=started)
