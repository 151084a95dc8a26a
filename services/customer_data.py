"""What Durapay holds about one customer: all of it at once (an export), or erased.

Erasure empties what identifies the person (email, name, metadata) on the customer and on every
mail Durapay sent them; the money records (payments, refunds, invoices, subscriptions) stay and
keep pointing at the erased customer, as bookkeeping law requires. It refuses while a subscription
of theirs can still bill or mail them: a running subscription carries the address its dunning
mails go to, so it must be canceled (or have ended) first.

Not reached by erasure: the customer object at Stripe (``stripe_customer_id`` in the export),
which holds its own copy of the email and name; erase it there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from contracts.ledger import FundingKind
from contracts.subscriptions import SubscriptionStatus
from db.models import (
    Customer,
    Invoice,
    LedgerFunding,
    MailOutbox,
    Payment,
    PaymentMethod,
    Refund,
    Subscription,
)
from db.repositories import customers as customers_repo
from db.repositories import invoices as invoices_repo
from db.repositories import ledger as ledger_repo
from db.repositories import ledger_moves
from db.repositories import mail as mail_repo
from db.repositories import payment_methods as payment_methods_repo
from db.repositories import payments as payments_repo
from db.repositories import subscriptions as subscriptions_repo
from services import audit_trail, errors
from services.audit import mask_email
from services.credits import CreditBalance, credit_balance
from services.ownership import own_customer
from services.runtime import Runtime
from services.wallet import WalletBalance, WalletTransaction, wallet_balances, wallet_history

ERASED_ADDRESS = "(erased)"
"""What an erased customer's mails show as their recipient."""

ENDED = frozenset({SubscriptionStatus.CANCELED, SubscriptionStatus.UNPAID})
"""A subscription in these neither bills nor mails any more."""


@dataclass(frozen=True)
class CustomerExport:
    """Everything Durapay holds about one customer, newest first in every list."""

    customer: Customer
    payment_methods: list[PaymentMethod]
    """Deleted ones too: Durapay still holds them."""
    payments: list[Payment]
    refunds: list[Refund]
    subscriptions: list[Subscription]
    invoices: list[Invoice]
    mails: list[MailOutbox]
    credits: CreditBalance
    credit_transactions: list[ledger_repo.AccountMovement]
    credit_purchases: list[LedgerFunding]
    """Pending and failed ones too: a purchase whose payment did not succeed granted nothing."""
    wallet: list[WalletBalance]
    wallet_transactions: list[WalletTransaction]

    @property
    def stripe_customer_id(self) -> str | None:
        return self.customer.stripe_customer_id


async def export_customer(runtime: Runtime, account_id: str, customer_id: str) -> CustomerExport:
    """One reading session, so the lists agree with each other."""
    async with runtime.database.reading() as session:
        customer = await own_customer(session, account_id, customer_id)
        return CustomerExport(
            customer=customer,
            payment_methods=await payment_methods_repo.all_payment_methods(session, customer.id),
            payments=await payments_repo.payments_of_customer(session, customer.id),
            refunds=await payments_repo.refunds_of_customer(session, customer.id),
            subscriptions=await subscriptions_repo.subscriptions_of_customer(session, customer.id),
            invoices=await invoices_repo.invoices_of_customer(session, customer.id),
            mails=await mail_repo.mails_to_customer(session, customer.id, customer.email),
            credits=await credit_balance(session, account_id, customer.id),
            credit_transactions=(
                await ledger_repo.movements_of_account(
                    session, ledger_moves.credits_of(account_id, customer.id)
                )
            )[0],
            credit_purchases=await ledger_moves.fundings_of_customer(
                session, customer.id, FundingKind.CREDITS
            ),
            wallet=await wallet_balances(session, account_id, customer.id),
            wallet_transactions=await wallet_history(session, customer.id),
        )


async def erase_customer(runtime: Runtime, account_id: str, customer_id: str) -> Customer:
    """Erase the customer and the recipient of their mails in one transaction; erasing an
    erased customer again answers it as it is (the first ``erased_at`` stands)."""
    async with runtime.database.writing() as session:
        customer = await own_customer(session, account_id, customer_id)
        if customer.erased_at is not None:
            return customer
        subscriptions = await subscriptions_repo.subscriptions_of_customer(session, customer.id)
        running = [s.id for s in subscriptions if s.status not in ENDED]
        if running:
            raise errors.InvalidState(
                f"Customer {customer.id} still has running subscriptions ({', '.join(running)}), "
                "which would go on billing and mailing them: cancel them first, then erase."
            )
        await mail_repo.erase_recipient(session, customer.id, customer.email, ERASED_ADDRESS)
        await audit_trail.append_change(
            session,
            account_id=account_id,
            action="customer.erase",
            resource_id=customer.id,
            outcome=200,
            details={"email": mask_email(customer.email)},
        )
        return await customers_repo.erase_customer(session, customer.id, datetime.now(UTC))
