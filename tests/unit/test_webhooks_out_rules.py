"""The rules of webhooks to merchants that need no server: when a failed delivery is retried,
what an event's object shows, how a delivery is signed, where production may deliver, and that a
sealed secret opens only for its own endpoint."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.exceptions import InvalidTag
from pydantic import BaseModel
from standardwebhooks import Webhook, WebhookVerificationError

from activities.webhooks_out.delivery import signed_headers
from activities.webhooks_out.events import (
    INVOICE_INTERNAL,
    PAYMENT_INTERNAL,
    REFUND_INTERNAL,
    SUBSCRIPTION_INTERNAL,
    public_object,
)
from api.schemas.invoices import InvoiceOut
from api.schemas.oversight import AlertOut
from api.schemas.payments import PaymentOut, RefundOut
from api.schemas.subscriptions import SubscriptionOut
from db.models import Alert, Base, Invoice, Payment, Refund, Subscription
from db.repositories.alerts import ALERT_INTERNAL
from db.sealing import Sealer
from public_address import AddressRefused, check_public
from services.webhooks_out import new_secret
from workflows.policies.webhook_retries import GIVE_UP_AFTER, next_delay


def test_the_first_retry_comes_within_30_seconds_and_the_waits_grow() -> None:
    delays = [next_delay(failures, timedelta(0)) for failures in range(1, 9)]
    assert delays[0] is not None and delays[0] <= timedelta(seconds=30)
    assert delays == sorted(delays, key=lambda delay: delay or timedelta(0))
    assert delays[-1] == delays[-2] == timedelta(hours=10)


def test_the_last_retry_falls_on_three_days_and_then_the_delivery_stops() -> None:
    almost = GIVE_UP_AFTER - timedelta(hours=1)
    assert next_delay(9, almost) == timedelta(hours=1)
    assert next_delay(10, GIVE_UP_AFTER) is None


def _api_fields(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


@pytest.mark.parametrize(
    ("row", "internal", "answer"),
    [
        (Payment, PAYMENT_INTERNAL, PaymentOut),
        (Refund, REFUND_INTERNAL, RefundOut),
        (Subscription, SUBSCRIPTION_INTERNAL, SubscriptionOut),
        (Invoice, INVOICE_INTERNAL, InvoiceOut),
        (Alert, ALERT_INTERNAL, AlertOut),
    ],
    ids=["payment", "refund", "subscription", "invoice", "alert"],
)
def test_an_event_object_has_the_fields_of_the_api_answer(
    row: type[Base], internal: frozenset[str], answer: type[BaseModel]
) -> None:
    """A column added to a table must be either answered or named internal, on both sides."""
    empty = row()
    assert set(public_object(empty, internal)) == _api_fields(answer)


def test_times_in_an_event_object_are_rfc3339_utc() -> None:
    at = datetime(2026, 12, 2, 4, 5, 6, tzinfo=UTC)
    refund = Refund(id="re_1", created_at=at, status="succeeded")
    assert public_object(refund, REFUND_INTERNAL)["created_at"] == "2026-12-02T04:05:06Z"


def test_during_an_overlap_both_secrets_verify_and_no_other() -> None:
    old, new = new_secret(), new_secret()
    body = '{"id":"evt_1"}'
    headers = signed_headers("evt_1", body, [new, old], datetime.now(UTC))
    assert headers["webhook-id"] == "evt_1"
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers) == {"id": "evt_1"}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_a_secret_is_whsec_and_32_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_secret() != secret


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/hooks",
        "https://127.0.0.1/hooks",
        "https://10.0.0.8/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "https://localhost/hooks",
    ],
)
async def test_production_refuses_plain_http_and_private_addresses(url: str) -> None:
    with pytest.raises(AddressRefused):
        await check_public(url)


async def test_production_delivers_over_https_to_a_public_address() -> None:
    await check_public("https://93.184.216.34/hooks")


def test_a_sealed_secret_opens_only_for_its_endpoint_and_shows_nothing() -> None:
    sealer = Sealer(bytes(range(32)))
    secret = new_secret()
    sealed = sealer.seal(secret, owner="we_1")
    assert secret not in sealed and secret.removeprefix("whsec_") not in sealed
    assert sealer.open(sealed, owner="we_1") == secret
    with pytest.raises(InvalidTag):
        sealer.open(sealed, owner="we_2")
    with pytest.raises(InvalidTag):
        Sealer(bytes(32)).open(sealed, owner="we_1")
