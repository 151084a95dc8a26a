"""One delivery attempt: sign the event as the Standard Webhooks specification says and POST it.

The endpoint's secrets are read from the database here, never passed through Temporal: they
exist only in this activity's memory while it signs. The attempt is recorded under (delivery,
attempt number), so an activity Temporal runs again after its worker died (the POST may have
been made) leaves one row, with the outcome of the run that finished: at least once, recorded
once. A failure to deliver is a result, not an exception: the workflow's timers decide the retry.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook
from temporalio import activity

from contracts.webhooks_out import AttemptOutcome, AttemptResult, DeliveryAttempt, EndpointDisabling
from db.models import Event, WebhookEndpoint
from db.repositories import webhooks_out as webhooks_repo
from db.sealing import Sealer
from public_address import AddressRefused, check_public

log = logging.getLogger("durapay.webhooks_out")

POST_TIMEOUT = timedelta(seconds=10)
"""How long an endpoint may take to answer; shorter than the activity's own timeout
(``workflows.policies.webhook_retries.ATTEMPT_TIMEOUT``), so a slow endpoint is a failed attempt
rather than a timed-out activity."""


@dataclass(frozen=True)
class Message:
    """What one attempt sends: the body and the headers, signed for this attempt's time."""

    url: str
    body: str
    headers: dict[str, str]


def event_body(event: Event) -> str:
    """The event as the merchant receives it, byte for byte what is signed."""
    return json.dumps(
        {
            "id": event.id,
            "type": event.type,
            "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
            "data": event.data,
        },
        separators=(",", ":"),
    )


def signed_headers(event_id: str, body: str, secrets: list[str], at: datetime) -> dict[str, str]:
    """Standard Webhooks headers, one ``v1,`` signature per valid secret (space-separated)."""
    return {
        "content-type": "application/json",
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(
            Webhook(secret).sign(msg_id=event_id, timestamp=at, data=body) for secret in secrets
        ),
    }


class WebhookDeliveryActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        sealer: Sealer,
        *,
        public_addresses_only: bool,
    ) -> None:
        self._sessions = sessions
        self._sealer = sealer
        self._public_only = public_addresses_only

    async def _message(self, attempt: DeliveryAttempt, at: datetime) -> Message | None:
        async with self._sessions() as session:
            event = await webhooks_repo.get_event(session, attempt.event_id, None)
            endpoint = await webhooks_repo.get_endpoint(session, attempt.endpoint_id, None)
            if (
                event is None
                or endpoint is None
                or endpoint.status != webhooks_repo.ENABLED
                or not webhooks_repo.subscribed(endpoint, event.type)
            ):
                return None
            body = event_body(event)
            return Message(
                url=endpoint.url,
                body=body,
                headers=signed_headers(event.id, body, self._secrets(endpoint, at), at),
            )

    def _secrets(self, endpoint: WebhookEndpoint, at: datetime) -> list[str]:
        """The current secret, and the previous one while its overlap after a roll lasts."""
        secrets = [self._sealer.open(endpoint.sealed_secret, owner=endpoint.id)]
        expires = endpoint.previous_secret_expires_at
        if endpoint.sealed_previous_secret is not None and expires is not None and at < expires:
            secrets.append(self._sealer.open(endpoint.sealed_previous_secret, owner=endpoint.id))
        return secrets

    async def _post(self, message: Message) -> tuple[int | None, str | None]:
        """The endpoint's status code, or why there was none. Redirects are not followed: a
        redirect could lead where the address check would refuse to go."""
        try:
            if self._public_only:
                await check_public(message.url)
            async with httpx.AsyncClient(
                timeout=POST_TIMEOUT.total_seconds(), follow_redirects=False
            ) as http:
                response = await http.post(
                    message.url, content=message.body.encode(), headers=message.headers
                )
        except AddressRefused as refused:
            return None, f"address_refused: {refused}"
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            return None, type(error).__name__
        return response.status_code, None

    @activity.defn(name="deliver_webhook")
    async def deliver_webhook(self, attempt: DeliveryAttempt) -> AttemptResult:
        at = datetime.now(UTC)
        message = await self._message(attempt, at)
        if message is None:
            return AttemptResult(outcome=AttemptOutcome.ENDPOINT_GONE)
        code, error = await self._post(message)
        delivered = code is not None and 200 <= code < 300
        outcome = AttemptOutcome.DELIVERED if delivered else AttemptOutcome.FAILED
        async with self._sessions() as session, session.begin():
            await webhooks_repo.record_attempt(
                session,
                delivery_id=attempt.delivery_id,
                event_id=attempt.event_id,
                endpoint_id=attempt.endpoint_id,
                attempt=attempt.number,
                status=outcome.value,
                response_code=code,
                error=error,
                at=at,
            )
        log.info(
            "webhook %s attempt %d to %s: %s %s",
            attempt.event_id,
            attempt.number,
            attempt.endpoint_id,
            outcome.value,
            code if code is not None else error,
        )
        return AttemptResult(outcome=outcome, response_code=code)

    @activity.defn(name="disable_webhook_endpoint")
    async def disable_webhook_endpoint(self, disabling: EndpointDisabling) -> bool:
        """Disable the endpoint after three days of failures; True for the call that did."""
        async with self._sessions() as session, session.begin():
            return await webhooks_repo.disable_endpoint(
                session, disabling.endpoint_id, datetime.now(UTC)
            )
