"""The customer portal behind a payment link: what the public routes and the payment page mean.

The token is the only credential. Every call hashes it and looks the hash up (one indexed
equality query), so an unknown token and a near miss of a real one take the same path and the
same time; neither is ever compared in Python. A token that finds no link is a 404 and is logged
without the token (it names no account to audit under); every call that finds one is audited,
with the caller's IP address and user agent, as actor ``public_token`` whose id is the link's id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from contracts.audit import ActorType, AuditRecord
from contracts.billing import InvoiceStatus
from contracts.payments import PaymentStatus, PaymentView
from db.models import Payment, PaymentLink, PaymentMethod
from db.repositories import customers as customers_repo
from db.repositories import invoices as invoices_repo
from db.repositories import links as links_repo
from db.repositories import payment_methods as payment_methods_repo
from db.repositories import payments as payments_repo
from money import format_amount
from services import audit, customers, errors, payments, stripe_browser, subscriptions
from services.idempotency import derive_id
from services.links import LinkStatus, hash_token, latest_payment, link_status
from services.payments import PaymentRequest
from services.runtime import Runtime
from services.subscriptions import ChangeRequest

log = logging.getLogger("durapay.links")

T = TypeVar("T")

PAYABLE_INVOICE = frozenset({InvoiceStatus.OPEN, InvoiceStatus.PAID})
"""A void or uncollectible invoice has nothing left to pay: its link answers ``link_expired``."""

RETRYABLE = frozenset({PaymentStatus.FAILED, PaymentStatus.CANCELED})
"""After one of these the link is still open: the customer may try again (another card)."""

HISTORY_LENGTH = 20
INVOICE_POLL_SECONDS = 0.2
USER_AGENT_LENGTH = 256


@dataclass(frozen=True)
class PublicCaller:
    """Who is using a link: its token, and where the request came from (for the audit log)."""

    token: str
    ip: str | None
    user_agent: str | None
    request_id: str | None


@dataclass(frozen=True)
class LinkPayment:
    """A payment through a link as the customer's browser needs it: its status, why it failed,
    and what to do next (3-D Secure with a client secret, or PayPal's approval page)."""

    id: str
    status: str
    amount: int
    currency: str
    provider: str | None
    failure: dict[str, Any] | None
    next_action: dict[str, Any] | None
    updated_at: datetime


@dataclass(frozen=True)
class LinkDue:
    """``GET /v1/public/payment/{token}``: what the customer is asked to pay, and to whom."""

    amount: int
    currency: str
    amount_display: str
    """The amount as a person reads it, in the currency's own decimals (``25.00 USD``)."""
    description: str | None
    invoice_id: str | None
    merchant_name: str
    customer_email: str | None
    expires_at: datetime
    payment: LinkPayment | None
    """The latest attempt, when there is one (a declined card, a payment awaiting 3-D Secure)."""


@dataclass(frozen=True)
class IntentRequest:
    """Pay with a saved method of the customer, or check out with PayPal (no method)."""

    payment_method_id: str | None
    provider: str | None


async def _use(
    runtime: Runtime,
    caller: PublicCaller,
    action: str,
    work: Callable[[PaymentLink, Payment | None], Awaitable[T]],
) -> T:
    """Find the link, refuse it when it is spent, run ``work``, and audit the use either way."""
    async with runtime.database.reading() as session:
        link = await links_repo.find_by_token_hash(session, hash_token(caller.token))
        payment = await latest_payment(session, link) if link is not None else None
        invoice = (
            await invoices_repo.get_invoice(session, link.invoice_id)
            if link is not None and link.invoice_id is not None
            else None
        )
    if link is None:
        log.info("public payment route %s: no link for this token", action)
        raise errors.NotFound("No such payment link.")
    outcome = 500
    try:
        await _require_open(runtime, link, payment)
        if invoice is not None and invoice.status not in PAYABLE_INVOICE:
            raise errors.LinkExpired(f"The invoice is {invoice.status}: nothing is due.")
        result = await work(link, payment)
        outcome = 200
        return result
    except errors.AppError as error:
        outcome = error.status
        raise
    finally:
        await audit.record(
            runtime.database,
            AuditRecord(
                account_id=link.account_id,
                actor_type=ActorType.PUBLIC_TOKEN,
                actor_id=link.id,
                action=f"payment_link.{action}",
                resource_id=link.id,
                outcome=outcome,
                details={
                    "ip": caller.ip,
                    "user_agent": (caller.user_agent or "")[:USER_AGENT_LENGTH],
                },
                ip=caller.ip,
                request_id=caller.request_id,
            ),
        )


async def _require_open(runtime: Runtime, link: PaymentLink, payment: Payment | None) -> None:
    now = datetime.now(UTC)
    status = link_status(link, payment, now)
    if status is LinkStatus.USED:
        if link.paid_at is None:
            async with runtime.database.writing() as session:
                await links_repo.mark_paid(session, link.id, now)
        raise errors.LinkUsed(
            "This link has been paid.", receipt=_receipt(link, payment) if payment else None
        )
    if status is LinkStatus.REVOKED:
        raise errors.LinkExpired("This link was withdrawn by the merchant.")
    if status is LinkStatus.EXPIRED:
        raise errors.LinkExpired(f"This link expired at {link.expires_at.isoformat()}.")


def _receipt(link: PaymentLink, payment: Payment) -> dict[str, Any]:
    """What the page shows once the link is paid: the 410 ``link_used`` answer carries it."""
    return {
        "payment_id": payment.id,
        "amount": payment.amount,
        "currency": payment.currency,
        "amount_display": _display(payment.amount, payment.currency),
        "description": link.description,
        "provider": payment.provider,
        "paid_at": payment.updated_at.isoformat(),
    }


def _display(amount: int, currency: str) -> str:
    return f"{format_amount(amount, currency)} {currency}"


async def view_link(runtime: Runtime, caller: PublicCaller) -> LinkDue:
    async def work(link: PaymentLink, payment: Payment | None) -> LinkDue:
        async with runtime.database.reading() as session:
            customer = await customers_repo.get_customer(session, link.customer_id)
        return LinkDue(
            amount=link.amount,
            currency=link.currency,
            amount_display=_display(link.amount, link.currency),
            description=link.description,
            invoice_id=link.invoice_id,
            merchant_name=runtime.settings.merchant_name,
            customer_email=audit.mask_email(customer.email if customer else None),
            expires_at=link.expires_at,
            payment=_for_browser(payment) if payment else None,
        )

    return await _use(runtime, caller, "view", work)


async def start_payment(
    runtime: Runtime, caller: PublicCaller, request: IntentRequest
) -> LinkPayment:
    """Start the link's payment, or answer the one under way. After a failed attempt the next
    call starts attempt n+1, a payment of its own (its id derives from the link and the attempt,
    so racing calls land on the same one). A customer who left a checkout waiting (PayPal's
    page, a 3-D Secure step) and now pays another way cancels it first."""

    async def work(link: PaymentLink, payment: Payment | None) -> LinkPayment:
        if link.invoice_id is None and payment is not None and _another_way(payment, request):
            switched = await payments.cancel_payment(
                runtime, link.account_id, payment.id, f"payment_link:{link.id}:switch"
            )
            if switched.status != PaymentStatus.CANCELED:
                return await _with_client_secret(runtime, _for_browser(switched))
        elif payment is not None and payment.status not in RETRYABLE:
            return await _with_client_secret(runtime, _for_browser(payment))
        if link.invoice_id is not None:
            return await _pay_invoice(runtime, link, payment, request)
        attempt = (
            link.attempt if link.payment_id is not None and payment is None else link.attempt + 1
        )
        key = f"payment_link:{link.id}:{attempt}"
        async with runtime.database.writing() as session:
            await links_repo.start_attempt(
                session, link.id, attempt, derive_id("pay_", link.account_id, "payment", key)
            )
        outcome = await payments.create_payment(
            runtime,
            link.account_id,
            PaymentRequest(
                amount=link.amount,
                currency=link.currency,
                customer_id=link.customer_id,
                payment_method_id=request.payment_method_id,
                provider=request.provider,
                capture_method="automatic",
                description=link.description,
                metadata={"payment_link_id": link.id},
                return_url=(
                    f"{runtime.settings.api_base_url.rstrip('/')}/pay/return"
                    if request.payment_method_id is None
                    else None
                ),
            ),
            key,
        )
        return await _with_client_secret(runtime, _for_browser(outcome.resource))

    return await _use(runtime, caller, "intent", work)


def _another_way(payment: Payment, request: IntentRequest) -> bool:
    """The payment waits on the customer, who now asks to pay with another method or provider."""
    if payment.status != PaymentStatus.REQUIRES_ACTION:
        return False
    if request.payment_method_id != payment.payment_method_id:
        return True
    return request.provider is not None and request.provider != payment.provider


async def _pay_invoice(
    runtime: Runtime, link: PaymentLink, failed: Payment | None, request: IntentRequest
) -> LinkPayment:
    """An invoice is its subscription's to collect (one writer per money object): the card
    becomes the subscription's payment method, and its workflow retries the open invoice with
    it at once. A payment made beside it would leave the invoice open for dunning to charge
    again. The answer is the invoice's new payment once it shows, within the settle wait."""
    if request.payment_method_id is None:
        raise errors.PaymentMethodRequired("An invoice's link pays with a saved card.")
    async with runtime.database.reading() as session:
        invoice = await invoices_repo.get_invoice(session, link.invoice_id or "")
    assert invoice is not None, "a link's invoice is never deleted"
    attempt = link.attempt + 1
    async with runtime.database.writing() as session:
        await links_repo.start_attempt(session, link.id, attempt, None)
    await subscriptions.set_payment_method(
        runtime,
        ChangeRequest(
            link.account_id, invoice.subscription_id, f"payment_link:{link.id}:{attempt}"
        ),
        request.payment_method_id,
    )
    deadline = (
        asyncio.get_running_loop().time() + runtime.settings.payment_settle_wait.total_seconds()
    )
    while True:
        async with runtime.database.reading() as session:
            payment = await latest_payment(session, link)
        fresh = payment is not None and (failed is None or payment.id != failed.id)
        if payment is not None and fresh and payment.status != PaymentStatus.PROCESSING:
            return await _with_client_secret(runtime, _for_browser(payment))
        if asyncio.get_running_loop().time() > deadline:
            return LinkPayment(
                id=payment.id if payment is not None and fresh else invoice.id,
                status=PaymentStatus.PROCESSING.value,
                amount=link.amount,
                currency=link.currency,
                provider=None,
                failure=None,
                next_action=None,
                updated_at=datetime.now(UTC),
            )
        await asyncio.sleep(INVOICE_POLL_SECONDS)


def _for_browser(payment: Payment | PaymentView) -> LinkPayment:
    next_action = payment.next_action
    failure = payment.failure
    return LinkPayment(
        id=payment.id,
        status=str(payment.status),
        amount=payment.amount,
        currency=payment.currency,
        provider=str(payment.provider) if payment.provider else None,
        failure=failure if isinstance(failure, dict) or failure is None else vars(failure),
        next_action=(
            next_action
            if isinstance(next_action, dict) or next_action is None
            else vars(next_action)
        ),
        updated_at=payment.updated_at,
    )


async def _with_client_secret(runtime: Runtime, payment: LinkPayment) -> LinkPayment:
    """3-D Secure runs in the customer's browser with the intent's client secret, read from
    Stripe here: it never passes through a workflow."""
    action = payment.next_action
    if payment.status != PaymentStatus.REQUIRES_ACTION or not action:
        return payment
    if action.get("type") != "stripe_sdk":
        return payment
    async with runtime.database.reading() as session:
        recorded = await payments_repo.get_payment(session, payment.id)
    if recorded is None or recorded.provider_reference is None:
        return payment
    secret = await stripe_browser.intent_client_secret(
        runtime.settings, recorded.provider_reference
    )
    return LinkPayment(
        **{**vars(payment), "next_action": {"type": "stripe_sdk", "client_secret": secret}}
    )


async def history(runtime: Runtime, caller: PublicCaller) -> list[LinkPayment]:
    """The customer's latest payments with this merchant, through links or not."""

    async def work(link: PaymentLink, _: Payment | None) -> list[LinkPayment]:
        async with runtime.database.reading() as session:
            rows, _more = await payments_repo.list_payments(
                session,
                account_id=link.account_id,
                customer_id=link.customer_id,
                limit=HISTORY_LENGTH,
            )
        # A past payment's next step is no business of the portal: only the link's own
        # payment hands the browser a client secret.
        return [replace(_for_browser(row), next_action=None) for row in rows]

    return await _use(runtime, caller, "history", work)


async def card_setup(runtime: Runtime, caller: PublicCaller) -> str:
    """A SetupIntent's client secret: Stripe.js turns the typed card into a PaymentMethod."""

    async def work(_link: PaymentLink, _payment: Payment | None) -> str:
        return await stripe_browser.card_setup_secret(runtime.settings)

    return await _use(runtime, caller, "card_setup", work)


async def list_methods(runtime: Runtime, caller: PublicCaller) -> list[PaymentMethod]:
    async def work(link: PaymentLink, _: Payment | None) -> list[PaymentMethod]:
        async with runtime.database.reading() as session:
            return await payment_methods_repo.list_payment_methods(session, link.customer_id)

    return await _use(runtime, caller, "methods.list", work)


async def save_method(
    runtime: Runtime, caller: PublicCaller, provider: str, token: str
) -> PaymentMethod:
    """Save the PaymentMethod Stripe.js made (or a PayPal vault token) as the customer's."""

    async def work(link: PaymentLink, _: Payment | None) -> PaymentMethod:
        outcome = await customers.attach_payment_method(
            runtime, link.account_id, link.customer_id, provider, token
        )
        return outcome.resource

    return await _use(runtime, caller, "methods.create", work)


async def delete_method(runtime: Runtime, caller: PublicCaller, method_id: str) -> PaymentMethod:
    async def work(link: PaymentLink, _: Payment | None) -> PaymentMethod:
        return await customers.delete_payment_method(
            runtime, link.account_id, link.customer_id, method_id
        )

    return await _use(runtime, caller, "methods.delete", work)


async def make_default_method(
    runtime: Runtime, caller: PublicCaller, method_id: str
) -> PaymentMethod:
    async def work(link: PaymentLink, _: Payment | None) -> PaymentMethod:
        return await customers.set_default_payment_method(
            runtime, link.account_id, link.customer_id, method_id
        )

    return await _use(runtime, caller, "methods.default", work)
