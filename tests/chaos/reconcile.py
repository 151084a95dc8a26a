"""Reconciliation: what Durapay recorded about each payment, checked against the money the provider
stand-in actually holds. Every chaos test ends here, because a crash or a fault that loses a payment
or charges it twice is invisible from inside: the workflow can finish happily while the books
disagree with the provider.

Durapay's side is its database projection (what ``GET /v1/payments`` serves). The provider's side
comes from a small ledger adapter per provider; everything else is provider-agnostic.

- **Stripe (localstripe)**: every PaymentIntent is listed, so a charge on an intent Durapay never
  recorded is found even when it was created by a retry nobody remembers. Intents in scope are
  those tagged ``durapay_payment_id`` with a checked payment, or made for a checked payment's Stripe
  customer (tagged or not).
- **PayPal (our sandbox)**: the sandbox has no listing of orders (PayPal has none either), so only
  the orders Durapay recorded are read. A PayPal order created under an idempotency key Durapay
  then forgot is out of reach here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from sqlalchemy import select

from contracts.billing import InvoiceStatus
from contracts.payments import PaymentStatus
from contracts.providers import RefundStatus
from db.models import Customer, Invoice, Payment, Refund
from db.repositories import payments as payments_repo
from money import STRIPE, from_decimal_string, from_provider_units
from tests.support.localstripe import TEST_API_KEY
from tests.support.paypal import CLIENT_ID, CLIENT_SECRET
from tests.support.stack import Stack

FINAL = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.CANCELED})
PENDING = frozenset(
    {
        PaymentStatus.PROCESSING,
        PaymentStatus.REQUIRES_ACTION,
        PaymentStatus.REQUIRES_CAPTURE,
        PaymentStatus.UNDER_REVIEW,
    }
)
"""Statuses that say "not finished yet" clearly enough for an operator to act on."""

_PAGE = 100


@dataclass(frozen=True)
class ProviderRefund:
    reference: str
    tag: str | None
    """The Durapay refund id the provider was given (Stripe metadata, PayPal ``custom_id``)."""
    amount: int


@dataclass(frozen=True)
class ProviderCharge:
    """One PaymentIntent or PayPal order, reduced to the money it holds."""

    provider: str
    reference: str
    payment_tag: str | None
    """The Durapay payment id the provider was given when the charge was created."""
    status: str
    authorized: int
    """Held on the buyer's account and not (yet) captured."""
    captured: int
    refunds: tuple[ProviderRefund, ...]

    @property
    def holds_money(self) -> bool:
        return self.authorized > 0 or self.captured > 0

    def __str__(self) -> str:
        return (
            f"{self.provider} {self.reference} ({self.status}, tagged {self.payment_tag}, "
            f"authorized {self.authorized}, captured {self.captured}, "
            f"refunded {sum(refund.amount for refund in self.refunds)})"
        )


class ProviderLedger(Protocol):
    """What one provider stand-in holds for a set of Durapay payments."""

    provider: str

    async def charges(
        self, payments: Sequence[Payment], customers: Sequence[Customer]
    ) -> list[ProviderCharge]:
        """Every charge relevant to ``payments`` (of ``customers``) this ledger can see."""
        ...


class StripeLedger:
    """localstripe, read over its REST API. A manually captured intent captured partly shows the
    uncaptured rest as an untagged refund (localstripe's way), which is not money refunded."""

    provider = "stripe"

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url

    async def charges(
        self, payments: Sequence[Payment], customers: Sequence[Customer]
    ) -> list[ProviderCharge]:
        payment_ids = {payment.id for payment in payments}
        customer_refs = {c.stripe_customer_id for c in customers if c.stripe_customer_id}
        async with httpx.AsyncClient(
            base_url=self._base_url,
            headers={"Authorization": f"Bearer {TEST_API_KEY}"},
            timeout=30,
        ) as client:
            intents = [
                intent
                for intent in await _stripe_list(client, "/v1/payment_intents")
                if (intent.get("metadata") or {}).get("durapay_payment_id") in payment_ids
                or intent.get("customer") in customer_refs
            ]
            refunds_by_charge: dict[str, list[dict[str, Any]]] = defaultdict(list)
            if intents:
                for refund in await _stripe_list(client, "/v1/refunds"):
                    refunds_by_charge[str(refund["charge"])].append(refund)
        return [_stripe_charge(intent, refunds_by_charge) for intent in intents]


async def _stripe_list(client: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, str | int] = {"limit": _PAGE}
    while True:
        response = await client.get(path, params=params)
        response.raise_for_status()
        page = response.json()
        items.extend(page["data"])
        if not page.get("has_more") or not page["data"]:
            return items
        params["starting_after"] = page["data"][-1]["id"]


def _stripe_charge(
    intent: dict[str, Any], refunds_by_charge: dict[str, list[dict[str, Any]]]
) -> ProviderCharge:
    status = str(intent["status"])
    currency = str(intent["currency"]).upper()

    def minor(amount: object) -> int:
        """Stripe's units → Durapay's ISO minor units (ISK is written ×100 at Stripe)."""
        return from_provider_units(int(str(amount)), currency, STRIPE)

    charge = intent.get("latest_charge")
    refunds: list[ProviderRefund] = []
    authorized = captured = 0
    if isinstance(charge, dict) and charge.get("status") == "succeeded":
        uncaptured = 0
        for refund in refunds_by_charge.get(str(charge["id"]), []):
            tag = (refund.get("metadata") or {}).get("durapay_refund_id")
            if tag is None and intent.get("capture_method") == "manual":
                uncaptured += minor(refund["amount"])
            elif refund.get("status") == "succeeded":
                refunds.append(ProviderRefund(str(refund["id"]), tag, minor(refund["amount"])))
        if charge.get("captured"):
            captured = minor(charge["amount"]) - uncaptured
        elif status == "requires_capture":
            authorized = minor(charge["amount"])
    return ProviderCharge(
        provider="stripe",
        reference=str(intent["id"]),
        payment_tag=(intent.get("metadata") or {}).get("durapay_payment_id"),
        status=status,
        authorized=authorized,
        captured=captured,
        refunds=tuple(refunds),
    )


class PayPalLedger:
    """The PayPal sandbox, read order by order: the orders Durapay recorded (see the module
    docstring for why orders it did not record cannot be listed)."""

    provider = "paypal"
    _CAPTURED = frozenset({"COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"})
    _HELD = frozenset({"CREATED", "PENDING", "PARTIALLY_CAPTURED"})

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url

    async def charges(
        self, payments: Sequence[Payment], customers: Sequence[Customer]
    ) -> list[ProviderCharge]:
        references = sorted(
            {
                payment.provider_reference
                for payment in payments
                if payment.provider == "paypal" and payment.provider_reference
            }
        )
        if not references:
            return []
        async with httpx.AsyncClient(base_url=self._base_url, timeout=30) as client:
            token = await client.post(
                "/v1/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(CLIENT_ID, CLIENT_SECRET),
            )
            token.raise_for_status()
            client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
            charges = []
            for reference in references:
                response = await client.get(f"/v2/checkout/orders/{reference}")
                response.raise_for_status()
                charges.append(self._charge(response.json()))
        return charges

    def _charge(self, order: dict[str, Any]) -> ProviderCharge:
        authorized = captured = 0
        refunds: list[ProviderRefund] = []
        tag: str | None = None
        for unit in order.get("purchase_units", []):
            tag = tag or unit.get("custom_id")
            payments = unit.get("payments") or {}
            for capture in payments.get("captures") or []:
                if capture.get("status") in self._CAPTURED:
                    captured += _paypal_minor(capture["amount"])
            for authorization in payments.get("authorizations") or []:
                if authorization.get("status") in self._HELD:
                    authorized += _paypal_minor(authorization["amount"])
            for refund in payments.get("refunds") or []:
                if refund.get("status") == "COMPLETED":
                    tag, amount = refund.get("custom_id"), _paypal_minor(refund["amount"])
                    refunds.append(ProviderRefund(str(refund["id"]), tag, amount))
        if captured:
            authorized = 0
        return ProviderCharge(
            provider="paypal",
            reference=str(order["id"]),
            payment_tag=tag,
            status=str(order.get("status")),
            authorized=authorized,
            captured=captured,
            refunds=tuple(refunds),
        )


def _paypal_minor(money: dict[str, Any]) -> int:
    return from_decimal_string(str(money["value"]), str(money["currency_code"]))


def ledgers(stack: Stack) -> list[ProviderLedger]:
    return [StripeLedger(stack.stripe_url), PayPalLedger(stack.paypal_url)]


async def reconcile(
    stack: Stack,
    payment_ids: Collection[str],
    *,
    pending_allowed: Collection[PaymentStatus] = PENDING,
    context: str = "",
) -> None:
    """Raise AssertionError listing every disagreement between Durapay and the providers.

    Checked for each payment: it exists; its status is final (succeeded, failed, canceled) or one
    of ``pending_allowed`` (by default every clearly pending status: processing, requires_action,
    requires_capture, under_review); its captured, authorized and refunded amounts equal the
    provider's for the charge Durapay recorded (not checked while ``processing``, when the provider
    may be ahead of Durapay by design); its refunds match the provider's one to one. Checked for
    every provider charge in scope that holds money: it is tagged with a payment Durapay knows,
    it is the charge that payment recorded, and no payment has two. ``context`` (a seed, say)
    starts the message.
    """
    ids = sorted(set(payment_ids))
    problems: list[str] = []
    async with stack.sessions() as session:
        payments: dict[str, Payment] = {}
        for payment_id in ids:
            payment = await payments_repo.get_payment(session, payment_id)
            if payment is None:
                problems.append(f"{payment_id}: not in Durapay's database")
            else:
                payments[payment_id] = payment
        refunds = {pid: await payments_repo.list_refunds(session, pid) for pid in payments}
        customer_ids = sorted({payment.customer_id for payment in payments.values()})
        customers = list(
            await session.scalars(select(Customer).where(Customer.id.in_(customer_ids)))
        )
        charges: list[ProviderCharge] = []
        for ledger in ledgers(stack):
            charges += await ledger.charges(list(payments.values()), customers)
        outside = {
            charge.payment_tag
            for charge in charges
            if charge.holds_money and charge.payment_tag and charge.payment_tag not in payments
        }
        known_outside = {
            tag
            for tag in sorted(outside)
            if await payments_repo.get_payment(session, tag) is not None
        }

    problems += _status_problems(payments.values(), pending_allowed)
    problems += _ownership_problems(payments, charges, known_outside)
    by_reference = {(charge.provider, charge.reference): charge for charge in charges}
    for payment in payments.values():
        recorded = by_reference.get((payment.provider, payment.provider_reference or ""))
        problems += _amount_problems(payment, recorded, refunds[payment.id])
    if problems:
        head = f"{context}: " if context else ""
        raise AssertionError(
            f"{head}reconciliation of {len(ids)} payments found {len(problems)} problem(s):\n  "
            + "\n  ".join(problems)
        )


def _status_problems(
    payments: Iterable[Payment], pending_allowed: Collection[PaymentStatus]
) -> list[str]:
    allowed = FINAL | frozenset(pending_allowed)
    names = ", ".join(sorted(allowed))
    return [
        f"{payment.id}: status {payment.status!r}, allowed here: {names}"
        for payment in payments
        if payment.status not in allowed
    ]


def _ownership_problems(
    payments: dict[str, Payment], charges: Iterable[ProviderCharge], known_outside: set[str]
) -> list[str]:
    problems = []
    holding: dict[str, list[ProviderCharge]] = defaultdict(list)
    for charge in charges:
        if not charge.holds_money:
            continue
        tag = charge.payment_tag
        if tag is None or (tag not in payments and tag not in known_outside):
            problems.append(f"{charge}: belongs to no Durapay payment")
            continue
        holding[tag].append(charge)
        payment = payments.get(tag)
        if payment is not None and (payment.provider, payment.provider_reference) != (
            charge.provider,
            charge.reference,
        ):
            problems.append(
                f"{tag}: money held on {charge}, but Durapay recorded "
                f"{payment.provider} {payment.provider_reference}"
            )
    for tag, held in holding.items():
        if len(held) > 1:
            problems.append(
                f"{tag}: {len(held)} provider charges hold money: " + "; ".join(map(str, held))
            )
    shared = Counter(
        (p.provider, p.provider_reference) for p in payments.values() if p.provider_reference
    )
    for (provider, reference), count in shared.items():
        if count > 1:
            owners = sorted(p.id for p in payments.values() if p.provider_reference == reference)
            problems.append(f"{provider} {reference}: recorded by {count} payments {owners}")
    return problems


def _amount_problems(
    payment: Payment, charge: ProviderCharge | None, refunds: Sequence[Refund]
) -> list[str]:
    if payment.status == PaymentStatus.PROCESSING:
        return []
    problems = []
    where = f"{payment.id} ({payment.status}, {payment.provider} {payment.provider_reference})"
    provider_captured = charge.captured if charge else 0
    provider_authorized = charge.authorized if charge else 0
    provider_refunds = charge.refunds if charge else ()
    if payment.amount_captured != provider_captured:
        problems.append(
            f"{where}: captured {payment.amount_captured} in Durapay, "
            f"{provider_captured} at the provider"
        )
    durapay_authorized = (
        payment.amount_capturable if payment.status == PaymentStatus.REQUIRES_CAPTURE else 0
    )
    if durapay_authorized != provider_authorized:
        problems.append(
            f"{where}: {durapay_authorized} authorized in Durapay, "
            f"{provider_authorized} held at the provider"
        )
    succeeded = {r.id: r.amount for r in refunds if r.status == RefundStatus.SUCCEEDED}
    if payment.amount_refunded != sum(succeeded.values()):
        problems.append(
            f"{where}: amount_refunded {payment.amount_refunded}, but its succeeded refunds "
            f"add up to {sum(succeeded.values())}"
        )
    provider_total = sum(refund.amount for refund in provider_refunds)
    if payment.amount_refunded != provider_total:
        problems.append(
            f"{where}: refunded {payment.amount_refunded} in Durapay, "
            f"{provider_total} at the provider"
        )
    tags = Counter(refund.tag for refund in provider_refunds)
    for tag, count in tags.items():
        if tag is None or tag not in succeeded:
            problems.append(f"{where}: provider refund(s) tagged {tag} match no succeeded refund")
        elif count > 1:
            problems.append(f"{where}: refund {tag} made {count} times at the provider")
    for refund in provider_refunds:
        if refund.tag in succeeded and succeeded[refund.tag] != refund.amount:
            problems.append(
                f"{where}: refund {refund.tag} is {succeeded[refund.tag]} in Durapay, "
                f"{refund.amount} at the provider ({refund.reference})"
            )
    return problems


async def no_period_billed_twice(
    stack: Stack, subscription_ids: Collection[str], *, context: str = ""
) -> None:
    """Raise AssertionError unless each subscription has one invoice per period start, each paid
    invoice with something due was paid by exactly one succeeded payment (the one the invoice
    names, for what it says) holding exactly one provider charge of that amount, a paid invoice
    with nothing due by none, no unpaid invoice has a succeeded payment or a captured charge, and
    no payment made for these subscriptions holds money for an invoice they do not have. Every
    payment made for these subscriptions is then reconciled.

    The invoices table is unique per (subscription, period start), so a period billed twice shows
    in the payments and provider charges of its one invoice, which is what is checked here."""
    wanted = set(subscription_ids)
    problems: list[str] = []
    async with stack.sessions() as session:
        invoices = list(
            await session.scalars(
                select(Invoice)
                .where(Invoice.subscription_id.in_(sorted(wanted)))
                .order_by(Invoice.subscription_id, Invoice.period_start)
            )
        )
        customer_ids = sorted({invoice.customer_id for invoice in invoices})
        payments = [
            payment
            for payment in await session.scalars(
                select(Payment).where(Payment.customer_id.in_(customer_ids))
            )
            if (payment.metadata_ or {}).get("subscription_id") in wanted
        ]
        customers = list(
            await session.scalars(select(Customer).where(Customer.id.in_(customer_ids)))
        )
    periods = Counter((invoice.subscription_id, invoice.period_start) for invoice in invoices)
    problems += [
        f"{subscription_id}: {count} invoices for the period starting {start.isoformat()}"
        for (subscription_id, start), count in periods.items()
        if count > 1
    ]
    charges: list[ProviderCharge] = []
    for ledger in ledgers(stack):
        charges += await ledger.charges(payments, customers)
    for invoice in invoices:
        problems += _invoice_problems(invoice, payments, charges)
    problems += _stray_payment_problems({invoice.id for invoice in invoices}, payments, charges)
    head = f"{context}: " if context else ""
    if problems:
        raise AssertionError(
            f"{head}billing check of {len(wanted)} subscriptions found "
            f"{len(problems)} problem(s):\n  " + "\n  ".join(problems)
        )
    await reconcile(stack, [payment.id for payment in payments], context=context)


def _invoice_problems(
    invoice: Invoice, payments: Sequence[Payment], charges: Sequence[ProviderCharge]
) -> list[str]:
    mine = [p for p in payments if (p.metadata_ or {}).get("invoice_id") == invoice.id]
    succeeded = [p for p in mine if p.status == PaymentStatus.SUCCEEDED]
    ids = {p.id for p in mine}
    captured = [c for c in charges if c.payment_tag in ids and c.captured > 0]
    where = f"{invoice.subscription_id} {invoice.id} ({invoice.status}, due {invoice.amount_due})"
    paid_by = f"{[p.id for p in succeeded]} with provider charges {[str(c) for c in captured]}"
    if invoice.status != InvoiceStatus.PAID:
        if succeeded or captured:
            return [f"{where}: not paid, yet paid by {paid_by}"]
        return []
    if invoice.amount_due <= 0:
        # Nothing was due (a credit covered it): paid without any payment.
        if succeeded or captured or invoice.payment_id is not None or invoice.amount_paid:
            return [
                f"{where}: nothing due, yet amount_paid {invoice.amount_paid} by "
                f"{invoice.payment_id}, paid by {paid_by}"
            ]
        return []
    problems = []
    if invoice.amount_paid != invoice.amount_due:
        problems.append(f"{where}: amount_paid {invoice.amount_paid}")
    if [p.id for p in succeeded] != [invoice.payment_id]:
        problems.append(
            f"{where}: paid by {invoice.payment_id}, but its succeeded payments are "
            f"{[p.id for p in succeeded]}"
        )
    if len(captured) != 1:
        problems.append(
            f"{where}: {len(captured)} succeeded provider charges: {[str(c) for c in captured]}"
        )
    elif captured[0].captured != invoice.amount_paid:
        problems.append(f"{where}: amount_paid {invoice.amount_paid}, but {captured[0]}")
    payer = next((p for p in succeeded if p.id == invoice.payment_id), None)
    if payer is not None and payer.amount_captured != invoice.amount_paid:
        problems.append(
            f"{where}: amount_paid {invoice.amount_paid}, but {payer.id} captured "
            f"{payer.amount_captured}"
        )
    return problems


def _stray_payment_problems(
    invoice_ids: Collection[str], payments: Sequence[Payment], charges: Sequence[ProviderCharge]
) -> list[str]:
    """Payments made for one of the subscriptions but for none of its invoices: any money they
    hold was billed for no period."""
    problems = []
    for payment in payments:
        invoice_id = (payment.metadata_ or {}).get("invoice_id")
        if invoice_id in invoice_ids:
            continue
        holding = [c for c in charges if c.payment_tag == payment.id and c.holds_money]
        if payment.status == PaymentStatus.SUCCEEDED or holding:
            problems.append(
                f"{payment.id} ({payment.status}): made for invoice {invoice_id}, not one of "
                f"the subscription's, yet holds {[str(c) for c in holding]}"
            )
    return problems
