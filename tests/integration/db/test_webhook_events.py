"""Events are written by the projection writes themselves, in their transaction, once per
transition: on SQLite and PostgreSQL, through the very activities the workflows call."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.billing import BillingActivities
from activities.records import RecordActivities
from api.schemas.payments import PaymentOut
from contracts.payments import PaymentStatus, PaymentTransition, PaymentView, RefundView
from contracts.providers import CaptureMethod, ProviderName, RefundStatus
from contracts.subscriptions import SubscriptionStatus, SubscriptionView
from db.models import Event, Payment, WebhookEndpoint
from db.repositories import webhooks_out as webhooks_repo

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)

PROCESSING = PaymentView(
    id="pay_1",
    account_id="acct_1",
    request_hash="h",
    status=PaymentStatus.PROCESSING,
    amount=2599,
    currency="EUR",
    amount_capturable=0,
    amount_captured=0,
    amount_refunded=0,
    customer_id="cus_1",
    payment_method_id="pm_1",
    provider=ProviderName.STRIPE,
    provider_reference=None,
    capture_method=CaptureMethod.AUTOMATIC,
    next_action=None,
    failure=None,
    description=None,
    metadata={"order": "1042"},
    created_at=T0,
    updated_at=T0,
    version=1,
)


def moved(view: PaymentView, version: int, **changes: Any) -> PaymentTransition:
    return PaymentTransition(
        payment=replace(
            view, version=version, updated_at=T0 + timedelta(seconds=version), **changes
        ),
        event_type=f"step.{version}",
    )


async def events(sessions: Sessions) -> list[Event]:
    async with sessions() as session:
        return list(await session.scalars(select(Event).order_by(Event.created_at, Event.type)))


async def add_endpoint(sessions: Sessions, account_id: str) -> None:
    """An enabled endpoint that wants every event: the account's events have somebody to go to."""
    async with sessions() as session, session.begin():
        await webhooks_repo.add_endpoint(
            session,
            WebhookEndpoint(
                id=f"we_{account_id}",
                account_id=account_id,
                url="https://merchant.example/hooks",
                events=["*"],
                description=None,
                status="enabled",
                sealed_secret="sealed",
                sealed_previous_secret=None,
                previous_secret_expires_at=None,
                created_at=T0 - timedelta(days=1),
                disabled_at=None,
                deleted_at=None,
            ),
        )


async def test_a_payment_raises_payment_succeeded_once_with_the_api_answer(
    sessions: Sessions,
) -> None:
    """The event holds the payment as the API answered when it succeeded (a later refund
    changes the payment, not the event)."""
    await add_endpoint(sessions, "acct_1")
    records = RecordActivities(sessions)
    succeeded = moved(
        PROCESSING,
        2,
        status=PaymentStatus.SUCCEEDED,
        amount_captured=2599,
        provider_reference="pi_1",
    )
    await records.record_payment_transition(moved(PROCESSING, 1))
    await records.record_payment_transition(succeeded)
    await records.record_payment_transition(succeeded)
    async with sessions() as session:
        row = await session.get(Payment, "pay_1")
        answer_when_it_succeeded = PaymentOut.model_validate(row).model_dump(mode="json")
    refund = RefundView(
        id="re_1",
        payment_id="pay_1",
        amount=599,
        currency="EUR",
        status=RefundStatus.SUCCEEDED,
        reason=None,
        created_at=T0 + timedelta(seconds=3),
    )
    refunded = replace(moved(succeeded.payment, 3, amount_refunded=599), refund=refund)
    await records.record_payment_transition(refunded)

    stored = await events(sessions)

    assert [(e.type, e.resource_id) for e in stored] == [
        ("payment.succeeded", "pay_1"),
        ("refund.succeeded", "re_1"),
    ]
    payment_event = stored[0]
    assert payment_event.id.startswith("evt_") and payment_event.account_id == "acct_1"
    assert payment_event.data["object"] == answer_when_it_succeeded
    assert answer_when_it_succeeded["amount_captured"] == 2599
    assert stored[1].data["object"]["amount"] == 599
    assert all(event.dispatched_at is None for event in stored), "no Temporal: left to the sweep"
    async with sessions() as session:
        left = await webhooks_repo.undispatched_events(
            session, created_before=datetime.now(UTC), limit=10
        )
    assert {event.id for event in left} == {event.id for event in stored}


async def test_events_of_an_account_without_endpoints_are_written_dispatched(
    sessions: Sessions,
) -> None:
    """Nobody to deliver to: the event is kept (listed by ``GET /v1/events``) but neither the
    step that raised it nor the sweep starts a delivery for it."""
    records = RecordActivities(sessions)
    await records.record_payment_transition(moved(PROCESSING, 1))
    await records.record_payment_transition(
        moved(PROCESSING, 2, status=PaymentStatus.SUCCEEDED, amount_captured=2599)
    )

    stored = await events(sessions)

    assert [(e.type, e.dispatched_at) for e in stored] == [
        ("payment.succeeded", stored[0].created_at)
    ]
    async with sessions() as session:
        left = await webhooks_repo.undispatched_events(
            session, created_before=datetime.now(UTC), limit=10
        )
    assert left == []


def subscription(status: SubscriptionStatus, version: int) -> SubscriptionView:
    return SubscriptionView(
        id="sub_1",
        account_id="acct_1",
        customer_id="cus_1",
        plan_id="pro_monthly",
        payment_method_id="pm_1",
        status=status,
        current_period_start=T0,
        current_period_end=T0 + timedelta(days=30),
        trial_end=None,
        cancel_at_period_end=False,
        entitled=True,
        latest_invoice_id=None,
        past_due_since=None,
        paused_at=None,
        canceled_at=None,
        created_at=T0,
        updated_at=T0 + timedelta(minutes=version),
        version=version,
    )


async def test_a_subscription_raises_an_event_per_change_of_status(sessions: Sessions) -> None:
    billing = BillingActivities(sessions)
    for version, status in enumerate(
        [
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.PAST_DUE,
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.PAST_DUE,
            SubscriptionStatus.CANCELED,
        ],
        start=1,
    ):
        await billing.record_subscription(subscription(status, version))
    await billing.record_subscription(subscription(SubscriptionStatus.ACTIVE, 2))

    assert [event.type for event in await events(sessions)] == [
        "subscription.created",
        "subscription.past_due",
        "subscription.updated",
        "subscription.past_due",
        "subscription.canceled",
    ]


async def test_events_older_than_30_days_are_expired(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        for days_ago in (31, 1):
            await webhooks_repo.record_event(
                session,
                account_id="acct_1",
                type="payment.succeeded",
                resource_id=f"pay_{days_ago}",
                dedupe_key=f"pay_{days_ago}:payment.succeeded",
                resource={"id": f"pay_{days_ago}"},
                created_at=datetime.now(UTC) - timedelta(days=days_ago),
            )
    async with sessions() as session, session.begin():
        expired = await webhooks_repo.expire_events(session, datetime.now(UTC) - timedelta(days=30))
    assert expired == 1
    assert [event.resource_id for event in await events(sessions)] == ["pay_1"]


async def test_a_closed_review_raises_review_closed_once_with_its_outcome(
    sessions: Sessions,
) -> None:
    records = RecordActivities(sessions)
    under_review = moved(PROCESSING, 1, status=PaymentStatus.UNDER_REVIEW)
    approved = replace(
        moved(PROCESSING, 2, status=PaymentStatus.SUCCEEDED, amount_captured=2599),
        event_type="review.approved",
    )
    await records.record_payment_transition(under_review)
    await records.record_payment_transition(approved)
    await records.record_payment_transition(approved)

    closed = [e for e in await events(sessions) if e.type == "review.closed"]
    assert [(e.resource_id, e.data["object"]["outcome"]) for e in closed] == [("pay_1", "approved")]
    assert {e.type for e in await events(sessions)} >= {"payment.under_review", "payment.succeeded"}
