"""Reconciliation's side effects: listing what the providers hold, comparing it with the payments
Durapay recorded, the run's record, and the stored webhooks that matched nothing.

What to do about each difference is decided here by ``judge`` (a pure rule, unit-tested) and
done by the workflow: a signal to the owning payment, a cancel through the payment activities,
an alert through the oversight activities. Listing is a read, so it may repeat freely.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.providers.paypal_search import PayPalTransactionSearch
from activities.providers.stripe import StripeProvider
from contracts.payments import PaymentStatus
from contracts.provider_events import event_target
from contracts.providers import ProviderName
from contracts.reconciliation import (
    ComparisonRequest,
    Drift,
    DriftAction,
    DriftKind,
    ProviderListing,
    ProviderObject,
    ProviderObjectKind,
    RunClosing,
    RunOpening,
    StoredEvent,
)
from db.models import Payment
from db.repositories import reconciliation as reconciliation_repo

UNCONFIRMED = frozenset({"requires_payment_method", "requires_confirmation", "requires_action"})
"""Stripe intents that have moved no money: an unowned one may be canceled."""
MONEY_MOVED = frozenset({"succeeded", "completed", "pending", "processing"})
"""Charge (and capture) statuses that took, or are taking, the customer's money."""
_OPEN_PAYMENT = frozenset(
    {PaymentStatus.PROCESSING, PaymentStatus.REQUIRES_ACTION, PaymentStatus.REQUIRES_CAPTURE}
)
_INTENT_STATUSES_OF: dict[PaymentStatus, frozenset[str]] = {
    PaymentStatus.SUCCEEDED: frozenset({"succeeded"}),
    PaymentStatus.REQUIRES_CAPTURE: frozenset({"requires_capture"}),
    PaymentStatus.REQUIRES_ACTION: frozenset({"requires_action", "requires_payment_method"}),
    PaymentStatus.CANCELED: frozenset({"canceled"}),
    PaymentStatus.FAILED: frozenset(
        {"requires_payment_method", "requires_confirmation", "canceled"}
    ),
}
"""The Stripe intent statuses that agree with each recorded payment status (a ``processing``
payment is mid-call and agrees with anything)."""
UNMATCHED_EVENTS_PER_RUN = 500


@dataclass(frozen=True)
class Owner:
    """What a comparison needs to know of a payment."""

    payment_id: str
    account_id: str
    status: PaymentStatus
    provider_reference: str | None

    @classmethod
    def of(cls, payment: Payment) -> Owner:
        return cls(
            payment.id,
            payment.account_id,
            PaymentStatus(payment.status),
            payment.provider_reference,
        )


def judge(
    found: ProviderObject,
    owner: Owner | None,
    tagged: Owner | None,
    *,
    now: datetime,
    orphan_grace: timedelta,
    refund_recorded: bool = False,
) -> Drift | None:
    """What, if anything, is wrong with ``found``: ``owner`` is the payment recording it (or its
    intent), ``tagged`` the payment whose ID is written on it. ``None`` when all agrees or when
    it is too early to say (an unowned intent younger than ``orphan_grace`` may be a create whose
    payment has not recorded it yet). A refund agrees when Durapay records it
    (``refund_recorded``: by its tag or its provider reference)."""

    def drift(kind: DriftKind, action: DriftAction, who: Owner | None) -> Drift:
        return Drift(
            kind=kind,
            action=action,
            provider=found.provider,
            reference=found.reference,
            amount=found.amount,
            currency=found.currency,
            payment_id=who.payment_id if who else None,
            account_id=who.account_id if who else None,
            provider_status=found.status,
            recorded_status=who.status.value if who else "",
        )

    if found.kind is ProviderObjectKind.REFUND:
        if refund_recorded or found.status not in MONEY_MOVED:
            return None
        return drift(DriftKind.UNOWNED_REFUND, DriftAction.ALERTED, owner)
    settled_elsewhere = tagged is not None and tagged.provider_reference not in (
        None,
        found.intent_reference,
    )
    old_enough = now - found.created_at >= orphan_grace
    if owner is None:
        if found.kind is ProviderObjectKind.INTENT:
            if found.status in UNCONFIRMED and (settled_elsewhere or old_enough):
                return drift(DriftKind.ORPHAN_INTENT, DriftAction.CANCELED, tagged)
            if found.status == "requires_capture" and (settled_elsewhere or old_enough):
                return drift(DriftKind.UNOWNED_AUTHORIZATION, DriftAction.ALERTED, tagged)
            return None
        if found.status not in MONEY_MOVED:
            return None
        if tagged is not None and tagged.status is PaymentStatus.PROCESSING and not old_enough:
            return None
        return drift(DriftKind.UNOWNED_CHARGE, DriftAction.ALERTED, tagged)
    if owner.status is PaymentStatus.PROCESSING or owner.status is PaymentStatus.UNDER_REVIEW:
        return None
    if found.kind is ProviderObjectKind.INTENT:
        agrees = found.status in _INTENT_STATUSES_OF.get(owner.status, frozenset())
    else:
        agrees = found.status not in MONEY_MOVED or owner.status is PaymentStatus.SUCCEEDED
    if agrees:
        return None
    if owner.status in _OPEN_PAYMENT:
        return drift(DriftKind.STALE_STATUS, DriftAction.SIGNALED, owner)
    return drift(DriftKind.STATUS_MISMATCH, DriftAction.ALERTED, owner)


class ReconciliationActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        stripe: StripeProvider,
        paypal: PayPalTransactionSearch,
    ) -> None:
        self._sessions = sessions
        self._stripe = stripe
        self._paypal = paypal

    @activity.defn(name="open_reconciliation_run")
    async def open_run(self, opening: RunOpening) -> datetime:
        """Record the run (once) and say from when it lists."""
        async with self._sessions() as session, session.begin():
            run = await reconciliation_repo.open_run(
                session, opening.run_id, opening.started_at, opening.first_lookback
            )
            return run.since

    @activity.defn(name="list_provider_objects")
    async def list_provider_objects(self, listing: ProviderListing) -> list[ProviderObject]:
        if listing.provider is ProviderName.STRIPE:
            return await self._stripe.list_since(listing.since)
        return await self._paypal.transactions(listing.since, datetime.now(UTC))

    @activity.defn(name="compare_provider_objects")
    async def compare(self, request: ComparisonRequest) -> list[Drift]:
        """Each provider object against the payment recording it; the differences found."""
        async with self._sessions() as session:
            owners: dict[tuple[ProviderName, str], Owner] = {}
            for provider in {found.provider for found in request.objects}:
                references = {
                    found.intent_reference
                    for found in request.objects
                    if found.provider is provider and found.intent_reference
                }
                recorded = await reconciliation_repo.payments_by_reference(
                    session, provider.value, references
                )
                owners |= {(provider, ref): Owner.of(p) for ref, p in recorded.items()}
            tags = {found.tag for found in request.objects if found.tag}
            tagged = {
                payment_id: Owner.of(payment)
                for payment_id, payment in (
                    await reconciliation_repo.payments_by_id(session, tags)
                ).items()
            }
            refunds = await reconciliation_repo.recorded_refunds(
                session,
                {found.tag for found in request.objects if found.tag},
                {f.reference for f in request.objects if f.kind is ProviderObjectKind.REFUND},
            )
        found_drift = (
            judge(
                found,
                owners.get((found.provider, found.intent_reference or "")),
                tagged.get(found.tag or ""),
                now=request.now,
                orphan_grace=request.orphan_grace,
                refund_recorded=bool({found.tag, found.reference} & refunds),
            )
            for found in request.objects
        )
        return [drift for drift in found_drift if drift is not None]

    @activity.defn(name="unmatched_provider_events")
    async def unmatched_events(self) -> list[StoredEvent]:
        """Stored webhooks no payment matched, with the payment they match now (if any)."""
        async with self._sessions() as session:
            stored = await reconciliation_repo.unmatched_events(session, UNMATCHED_EVENTS_PER_RUN)
            events: list[StoredEvent] = []
            for event in stored:
                provider = ProviderName(event.provider)
                target = event_target(provider, event.payload)
                payment_id = await _payment_of(session, provider, target.reference, target.tag)
                events.append(
                    StoredEvent(provider, event.event_id, event.type, target.reference, payment_id)
                )
        return events

    @activity.defn(name="mark_provider_event_redelivered")
    async def mark_redelivered(self, event: StoredEvent) -> None:
        async with self._sessions() as session, session.begin():
            await reconciliation_repo.mark_event(
                session, event.provider.value, event.event_id, "redelivered", datetime.now(UTC)
            )

    @activity.defn(name="close_reconciliation_run")
    async def close_run(self, closing: RunClosing) -> None:
        async with self._sessions() as session, session.begin():
            await reconciliation_repo.finish_run(
                session,
                closing.run_id,
                finished_at=closing.finished_at,
                checked=closing.checked,
                drift=[asdict(drift) for drift in closing.drift],
                watermark=closing.watermark,
            )


async def _payment_of(
    session: AsyncSession, provider: ProviderName, reference: str, tag: str | None
) -> str | None:
    """The payment an event is about: the one tagged on the object, the owner of the tagged
    refund, or the one recording the object."""
    if tag:
        if (await reconciliation_repo.payments_by_id(session, [tag])).get(tag) is not None:
            return tag
        owner = await reconciliation_repo.refund_owner(session, tag)
        if owner is not None:
            return owner
    if reference:
        recorded = await reconciliation_repo.payments_by_reference(
            session, provider.value, [reference]
        )
        if reference in recorded:
            return recorded[reference].id
    return None
