"""Payment links: a merchant asks for a URL a customer can pay through without an API key.

The URL holds a token of 32 random bytes. Durapay keeps only its SHA-256 and shows the token
once, in the answer that created the link: a leaked database holds no usable link. A link takes
one payment: it is *used* once a payment through it has succeeded, and a failed attempt (a
declined card) leaves it open for the next one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from asgi_correlation_id import correlation_id
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.audit import ActorType, AuditRecord
from contracts.payments import PaymentStatus
from db.models import Payment, PaymentLink
from db.repositories import invoices as invoices_repo
from db.repositories import links as links_repo
from db.repositories import payments as payments_repo
from services import audit, errors
from services.api_keys import Principal
from services.customers import customer_to_charge
from services.idempotency import derive_id, request_hash
from services.outcome import Outcome
from services.ownership import owned
from services.runtime import Runtime

TOKEN_BYTES = 32


class LinkStatus(StrEnum):
    ACTIVE = "active"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True)
class LinkRequest:
    """A ``POST /v1/payment-links`` body as the API validated it (its fingerprint is the body's)."""

    customer_id: str
    invoice_id: str | None
    amount: int | None
    currency: str | None
    description: str | None
    expires_in: int | None


@dataclass(frozen=True)
class LinkAnswer:
    """A link as its merchant sees it; ``url`` only in the answer that made it (the token is
    kept hashed, so a repeated create finds the link but cannot show its URL again)."""

    id: str
    url: str | None
    expires_at: datetime
    status: LinkStatus
    customer_id: str
    invoice_id: str | None
    amount: int
    currency: str
    description: str | None
    payment_id: str | None
    created_at: datetime


async def _audit(
    session: AsyncSession, principal: Principal, action: str, link_id: str, outcome: int
) -> None:
    """In the change's own transaction: the entry exists exactly when the change does."""
    await audit.append(
        session,
        AuditRecord(
            account_id=principal.account_id,
            actor_type=ActorType.API_KEY,
            actor_id=principal.key_id,
            action=action,
            resource_id=link_id,
            outcome=outcome,
            request_id=correlation_id.get(),
        ),
    )


def hash_token(token: str) -> str:
    """Tokens are 256 random bits: one SHA-256 makes them unreadable and needs no salt."""
    return hashlib.sha256(token.encode()).hexdigest()


def link_status(link: PaymentLink, payment: Payment | None, now: datetime) -> LinkStatus:
    """Used wins over revoked and expired: a link that took its payment says so forever."""
    if link.paid_at is not None or (
        payment is not None and payment.status == PaymentStatus.SUCCEEDED
    ):
        return LinkStatus.USED
    if link.revoked_at is not None:
        return LinkStatus.REVOKED
    if now >= link.expires_at:
        return LinkStatus.EXPIRED
    return LinkStatus.ACTIVE


def _answer(
    link: PaymentLink, payment: Payment | None, url: str | None, now: datetime
) -> LinkAnswer:
    return LinkAnswer(
        id=link.id,
        url=url,
        expires_at=link.expires_at,
        status=link_status(link, payment, now),
        customer_id=link.customer_id,
        invoice_id=link.invoice_id,
        amount=link.amount,
        currency=link.currency,
        description=link.description,
        payment_id=payment.id if payment is not None else link.payment_id,
        created_at=link.created_at,
    )


async def create_link(
    runtime: Runtime, principal: Principal, request: LinkRequest, idempotency_key: str
) -> Outcome[LinkAnswer]:
    """Make a link for a customer, for an amount or for an open invoice's amount due."""
    settings = runtime.settings
    account_id = principal.account_id
    link_id = derive_id("plink_", account_id, "payment_link", idempotency_key)
    fingerprint = request_hash(asdict(request))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = datetime.now(UTC)
    expires_in = (
        timedelta(seconds=request.expires_in)
        if request.expires_in is not None
        else settings.payment_link_expiry
    )
    if expires_in > settings.payment_link_max_expiry:
        raise errors.ValidationFailed(
            f"expires_in may be at most {int(settings.payment_link_max_expiry.total_seconds())} s."
        )
    async with runtime.database.writing() as session:
        existing = await links_repo.get_link(session, link_id)
        if existing is not None:
            if existing.request_hash != fingerprint:
                raise errors.IdempotencyKeyReused()
            payment = await latest_payment(session, existing)
            return Outcome(_answer(existing, payment, None, now), created=False)
        customer = await customer_to_charge(session, account_id, request.customer_id)
        amount, currency = await _amount_due(session, account_id, customer.id, request)
        link = PaymentLink(
            id=link_id,
            account_id=account_id,
            customer_id=customer.id,
            invoice_id=request.invoice_id,
            amount=amount,
            currency=currency,
            description=request.description,
            token_hash=hash_token(token),
            request_hash=fingerprint,
            expires_at=now + expires_in,
            attempt=0,
            payment_id=None,
            paid_at=None,
            revoked_at=None,
            created_at=now,
        )
        inserted = await links_repo.add_link(session, link)
        if inserted:
            await _audit(session, principal, "payment_link.create", link_id, 201)
        saved = await links_repo.get_link(session, link_id)
    assert saved is not None
    url = f"{settings.api_base_url.rstrip('/')}/pay/{token}" if inserted else None
    return Outcome(_answer(saved, None, url, now), created=inserted)


async def _amount_due(
    session: AsyncSession, account_id: str, customer_id: str, request: LinkRequest
) -> tuple[int, str]:
    """An invoice's link charges what the invoice still has due, in its currency; any other
    link charges the amount it names."""
    if request.invoice_id is None:
        if request.amount is None or request.currency is None:
            raise errors.ValidationFailed("Send amount and currency, or an invoice_id.")
        return request.amount, request.currency
    invoice = await invoices_repo.get_invoice(session, request.invoice_id, account_id)
    if invoice is None or invoice.customer_id != customer_id:
        raise errors.NotFound(f"No invoice {request.invoice_id} of customer {customer_id}.")
    if invoice.status != "open":
        raise errors.InvalidState(f"Invoice {invoice.id} is {invoice.status}, not open.")
    due = invoice.amount_due - invoice.amount_paid
    if request.amount is not None and request.amount != due:
        raise errors.ValidationFailed(f"Invoice {invoice.id} has {due} due, not {request.amount}.")
    if request.currency is not None and request.currency != invoice.currency:
        raise errors.CurrencyMismatch(f"Invoice {invoice.id} is in {invoice.currency}.")
    return due, invoice.currency


async def latest_payment(session: AsyncSession, link: PaymentLink) -> Payment | None:
    """The link's latest attempt; for an invoice's link, the invoice's latest payment (its
    subscription's workflow makes it, whoever asked)."""
    payment_id = link.payment_id
    if link.invoice_id is not None:
        invoice = await invoices_repo.get_invoice(session, link.invoice_id)
        payment_id = invoice.payment_id if invoice is not None else None
    if payment_id is None:
        return None
    return await payments_repo.get_payment(session, payment_id)


async def get_link(runtime: Runtime, account_id: str, link_id: str) -> LinkAnswer:
    async with runtime.database.reading() as session:
        link = await owned(
            links_repo.get_link(session, link_id, account_id), f"payment link {link_id}"
        )
        payment = await latest_payment(session, link)
    return _answer(link, payment, None, datetime.now(UTC))


async def revoke_link(runtime: Runtime, principal: Principal, link_id: str) -> LinkAnswer:
    """The link answers 410 ``link_expired`` from now on; a link already paid stays ``used``."""
    now = datetime.now(UTC)
    async with runtime.database.writing() as session:
        await owned(
            links_repo.get_link(session, link_id, principal.account_id), f"payment link {link_id}"
        )
        await links_repo.revoke(session, link_id, now)
        await _audit(session, principal, "payment_link.revoke", link_id, 200)
        link = await links_repo.get_link(session, link_id)
        assert link is not None
        payment = await latest_payment(session, link)
    return _answer(link, payment, None, now)
