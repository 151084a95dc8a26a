"""Webhooks to merchants: endpoints (secrets shown once, rolled with an overlap), the event log,
delivery attempts, and redelivery on request.

A signing secret is ``whsec_`` + base64 of 32 random bytes, the Standard Webhooks format the
merchant's library reads. It is stored sealed (``db.sealing``: AES-256-GCM under
``DURAPAY_WEBHOOK_SEALING_KEY``), not hashed, because every delivery signs with it; it appears in
the answer that made it and nowhere else, and never in Temporal (the delivery activity reads it).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.common import WorkflowIDReusePolicy

from contracts.audit import ActorType, AuditRecord
from contracts.webhooks_out import ALL_EVENTS, DeliveryInput, EventType
from contracts.workflow_names import WorkflowName
from db.models import Event, WebhookDelivery, WebhookEndpoint
from db.repositories import webhooks_out as webhooks_repo
from db.sealing import Sealer
from public_address import AddressRefused, check_public
from services import audit
from services.database import Database, ensure_no_open_session
from services.errors import ValidationFailed
from services.idempotency import random_id
from services.ownership import owned
from services.runtime import Runtime

SECRET_BYTES = 32
DEFAULT_ROLL_OVERLAP = 86_400
MAX_ROLL_OVERLAP = 7 * 86_400
"""Seconds a rolled secret keeps signing, as for API keys: long enough to redeploy a receiver,
short enough that a roll retires a leaked secret."""


@dataclass(frozen=True)
class Caller:
    """Who asks for a change, as the audit log records it."""

    account_id: str
    key_id: str
    ip: str | None = None
    request_id: str | None = None

    def audit(
        self, action: str, resource_id: str, outcome: int, **details: str | int | None
    ) -> AuditRecord:
        return AuditRecord(
            account_id=self.account_id,
            actor_type=ActorType.API_KEY,
            actor_id=self.key_id,
            action=action,
            resource_id=resource_id,
            outcome=outcome,
            details=dict(details),
            ip=self.ip,
            request_id=self.request_id,
        )


@dataclass(frozen=True)
class EndpointView:
    """An endpoint as anyone may see it: never its secret."""

    id: str
    url: str
    events: list[str]
    description: str | None
    status: str
    created_at: datetime
    disabled_at: datetime | None
    previous_secret_expires_at: datetime | None

    @classmethod
    def of(cls, row: WebhookEndpoint) -> EndpointView:
        return cls(
            id=row.id,
            url=row.url,
            events=list(row.events),
            description=row.description,
            status=row.status,
            created_at=row.created_at,
            disabled_at=row.disabled_at,
            previous_secret_expires_at=row.previous_secret_expires_at,
        )


@dataclass(frozen=True)
class EndpointWithSecret(EndpointView):
    """The answer of a create or a roll: the only time the secret is shown."""

    secret: str = ""


def _sealer(runtime: Runtime) -> Sealer:
    return Sealer.from_base64(runtime.settings.webhook_sealing_key.get_secret_value())


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _event_types(events: Sequence[str]) -> list[str]:
    known = {event.value for event in EventType}
    unknown = sorted(set(events) - known - {ALL_EVENTS})
    if unknown:
        raise ValidationFailed(f"Unknown event types: {', '.join(unknown)}.")
    return list(dict.fromkeys(events))


async def _check_url(runtime: Runtime, url: str) -> None:
    if not runtime.settings.webhook_public_addresses_only:
        return
    try:
        await check_public(url)
    except AddressRefused as refused:
        raise ValidationFailed(
            f"Webhook URLs must be https on public addresses: {refused}."
        ) from refused


async def create_endpoint(
    runtime: Runtime, caller: Caller, url: str, events: Sequence[str], description: str | None
) -> EndpointWithSecret:
    wanted = _event_types(events)
    await _check_url(runtime, url)
    secret = new_secret()
    endpoint_id = random_id("we_")
    row = WebhookEndpoint(
        id=endpoint_id,
        account_id=caller.account_id,
        url=url,
        events=wanted,
        description=description,
        status=webhooks_repo.ENABLED,
        sealed_secret=_sealer(runtime).seal(secret, owner=endpoint_id),
        sealed_previous_secret=None,
        previous_secret_expires_at=None,
        created_at=datetime.now(UTC),
        disabled_at=None,
        deleted_at=None,
    )
    async with runtime.database.writing() as session:
        await webhooks_repo.add_endpoint(session, row)
        view = EndpointView.of(row)
        await audit.append(
            session, caller.audit("webhook_endpoint.create", endpoint_id, 201, events=len(wanted))
        )
    return EndpointWithSecret(**vars(view), secret=secret)


async def get_endpoint(database: Database, account_id: str, endpoint_id: str) -> EndpointView:
    async with database.reading() as session:
        row = await _own_endpoint(session, account_id, endpoint_id)
        return EndpointView.of(row)


async def list_endpoints(
    database: Database, account_id: str, *, limit: int, starting_after: str | None
) -> tuple[list[EndpointView], bool]:
    async with database.reading() as session:
        rows, has_more = await webhooks_repo.list_endpoints(
            session, account_id=account_id, limit=limit, starting_after=starting_after
        )
        return [EndpointView.of(row) for row in rows], has_more


async def delete_endpoint(database: Database, caller: Caller, endpoint_id: str) -> None:
    """Deleted at once: deliveries in flight stop at their next attempt."""
    async with database.writing() as session:
        row = await _own_endpoint(session, caller.account_id, endpoint_id)
        row.deleted_at = datetime.now(UTC)
        await audit.append(session, caller.audit("webhook_endpoint.delete", endpoint_id, 204))


async def roll_secret(
    runtime: Runtime, caller: Caller, endpoint_id: str, expires_in: int
) -> EndpointWithSecret:
    """A new secret signs from now on; the current one signs too for ``expires_in`` seconds
    (0: it stops at once). A secret rolled before that overlap ended is dropped."""
    sealer = _sealer(runtime)
    secret = new_secret()
    now = datetime.now(UTC)
    async with runtime.database.writing() as session:
        row = await _own_endpoint(session, caller.account_id, endpoint_id)
        row.sealed_previous_secret = row.sealed_secret if expires_in > 0 else None
        row.previous_secret_expires_at = now + timedelta(seconds=expires_in) if expires_in else None
        row.sealed_secret = sealer.seal(secret, owner=row.id)
        view = EndpointView.of(row)
        await audit.append(
            session,
            caller.audit("webhook_endpoint.roll_secret", endpoint_id, 200, expires_in=expires_in),
        )
    return EndpointWithSecret(**vars(view), secret=secret)


async def list_attempts(
    database: Database,
    account_id: str,
    endpoint_id: str,
    *,
    limit: int,
    starting_after: str | None,
) -> tuple[list[WebhookDelivery], bool]:
    async with database.reading() as session:
        await _own_endpoint(session, account_id, endpoint_id)
        return await webhooks_repo.list_attempts(
            session, endpoint_id=endpoint_id, limit=limit, starting_after=starting_after
        )


async def _own_endpoint(
    session: AsyncSession, account_id: str, endpoint_id: str
) -> WebhookEndpoint:
    """The account's live endpoint, or 404: another account's is as unknown as a deleted one."""
    return await owned(
        webhooks_repo.get_endpoint(session, endpoint_id, account_id), "webhook endpoint"
    )


def event_answer(event: Event) -> dict[str, Any]:
    """The event as the API and the webhook body show it."""
    return {"id": event.id, "type": event.type, "created_at": event.created_at, "data": event.data}


async def get_event(database: Database, account_id: str, event_id: str) -> dict[str, Any]:
    async with database.reading() as session:
        event = await owned(webhooks_repo.get_event(session, event_id, account_id), "event")
        return event_answer(event)


async def list_events(
    database: Database,
    account_id: str,
    *,
    type: str | None,
    limit: int,
    starting_after: str | None,
) -> tuple[list[dict[str, Any]], bool]:
    async with database.reading() as session:
        rows, has_more = await webhooks_repo.list_events(
            session, account_id=account_id, type=type, limit=limit, starting_after=starting_after
        )
        return [event_answer(row) for row in rows], has_more


async def redeliver(runtime: Runtime, caller: Caller, event_id: str) -> list[str]:
    """Deliver the event again, now, to every enabled endpoint of the account that wants it: a
    new delivery workflow each (``whd_<evt>_<we>_r<random>``); the IDs of the deliveries."""
    async with runtime.database.writing() as session:
        event = await owned(webhooks_repo.get_event(session, event_id, caller.account_id), "event")
        endpoints = await webhooks_repo.endpoints_for(session, event, registered_since=True)
        await audit.append(
            session, caller.audit("event.redeliver", event_id, 202, endpoints=len(endpoints))
        )
    ensure_no_open_session()
    started: list[str] = []
    for endpoint in endpoints:
        delivery = DeliveryInput(
            delivery_id=f"whd_{event_id}_{endpoint.id}_r{secrets.token_hex(6)}",
            event_id=event_id,
            endpoint_id=endpoint.id,
            account_id=caller.account_id,
        )
        await runtime.client.start_workflow(
            WorkflowName.WEBHOOK_DELIVERY,
            delivery,
            id=delivery.delivery_id,
            task_queue=runtime.settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=f"Redeliver {event_id} to {endpoint.id}",
        )
        started.append(delivery.delivery_id)
    return started
