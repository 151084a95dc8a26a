"""The ledger under random sequences of purchases, consumes, transfers, deposits and withdrawals
(hypothesis' stateful testing), on SQLite and PostgreSQL: after every step each transaction sums
to zero per currency, each cached balance equals the sum of its entries, no customer balance is
below zero, and every balance is what a plain model of the same sequence says.

Deposits have their payment's projection, which refunds (the withdrawal's, or a merchant's
through the payments API) reduce, as the payment's workflow does; like it, a refund beyond what is
left is refused. The steps are the repository functions the API and the activities call
(``ledger_moves``), each in its own transaction as they run in production. Each example keeps
its books under an account of its own, so examples share the database without seeing each other.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.ledger import (
    CREDITS,
    DepositRefundResult,
    FundingKind,
    FundingStatus,
)
from db.models import LedgerFunding, Payment, WalletWithdrawal
from db.repositories import ledger as ledger_repo
from db.repositories import ledger_moves
from db.repositories import payments as payments_repo
from db.repositories.ledger import LimitReached
from db.repositories.ledger_moves import CreditMove
from db.session import create_engine, create_session_factory
from tests.integration.db.test_repository import payment_values

T = TypeVar("T")
CUSTOMERS = ("cus_a", "cus_b", "cus_c")
USD = "USD"
MAX_CREDITS = 1_000_000


@dataclass
class Model:
    """What the balances must be, kept the simplest way."""

    credits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CUSTOMERS, 0))
    available: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CUSTOMERS, 0))
    locked: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CUSTOMERS, 0))
    pending: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Withdrawals locked and not yet finished: id → (customer, amount)."""


class LedgerMachine(RuleBasedStateMachine):
    database_url: str

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.engine = create_engine(self.database_url)
        self.sessions: async_sessionmaker[AsyncSession] = create_session_factory(self.engine)
        self.account = f"acct_{uuid.uuid4().hex[:12]}"
        self.model = Model()
        self.clock = datetime(2026, 1, 1, tzinfo=UTC)
        self.deposits: list[str] = []

    def teardown(self) -> None:
        self.run(self.engine.dispose())
        self.loop.close()

    def run(self, work: Awaitable[T]) -> T:
        return self.loop.run_until_complete(work)

    def now(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    # ------------------------------------------------------------------ fundings

    async def _fund(self, kind: FundingKind, customer: str, amount: int, succeeded: bool) -> None:
        funding_id = f"{'ctx' if kind is FundingKind.CREDITS else 'dep'}_{uuid.uuid4().hex[:20]}"
        at = self.now()
        async with self.sessions() as session, session.begin():
            await ledger_moves.add_funding(
                session,
                LedgerFunding(
                    id=funding_id,
                    account_id=self.account,
                    customer_id=customer,
                    kind=kind.value,
                    amount=amount,
                    currency=CREDITS if kind is FundingKind.CREDITS else USD,
                    payment_id=f"pay_{funding_id}",
                    status=FundingStatus.PENDING.value,
                    request_hash="h",
                    created_at=at,
                    updated_at=at,
                ),
            )
        async with self.sessions() as session, session.begin():
            if kind is FundingKind.WALLET and succeeded:
                await payments_repo.save_payment_snapshot(
                    session,
                    payment_values(
                        f"pay_{funding_id}",
                        status="succeeded",
                        account_id=self.account,
                        customer_id=customer,
                        amount=amount,
                        amount_captured=amount,
                        currency=USD,
                        created_at=at,
                    ),
                )
                self.deposits.append(f"pay_{funding_id}")
        for _ in range(2):  # a retried activity grants once
            async with self.sessions() as session, session.begin():
                await ledger_moves.settle_funding(session, funding_id, succeeded, at)

    @rule(
        customer=st.sampled_from(CUSTOMERS),
        credits=st.integers(1, 2000),
        succeeded=st.booleans(),
    )
    def purchase(self, customer: str, credits: int, succeeded: bool) -> None:
        self.run(self._fund(FundingKind.CREDITS, customer, credits, succeeded))
        if succeeded:
            self.model.credits[customer] += credits

    @rule(
        customer=st.sampled_from(CUSTOMERS),
        amount=st.integers(1, 50_000),
        succeeded=st.booleans(),
    )
    def deposit(self, customer: str, amount: int, succeeded: bool) -> None:
        self.run(self._fund(FundingKind.WALLET, customer, amount, succeeded))
        if succeeded:
            self.model.available[customer] += amount

    # ------------------------------------------------------------------ credits

    def _move(self, customer: str, credits: int) -> CreditMove:
        return CreditMove(
            transaction_id=f"ctx_{uuid.uuid4().hex[:20]}",
            account_id=self.account,
            customer_id=customer,
            credits=credits,
            request_hash="h",
            at=self.now(),
        )

    async def _consume(self, customer: str, credits: int) -> bool:
        try:
            async with self.sessions() as session, session.begin():
                await ledger_moves.consume_credits(session, self._move(customer, credits), "use")
        except LimitReached:
            return False
        return True

    @rule(customer=st.sampled_from(CUSTOMERS), credits=st.integers(1, 1500))
    def consume(self, customer: str, credits: int) -> None:
        taken = self.run(self._consume(customer, credits))
        assert taken == (self.model.credits[customer] >= credits)
        if taken:
            self.model.credits[customer] -= credits

    async def _transfer(self, payer: str, payee: str, credits: int) -> bool:
        try:
            async with self.sessions() as session, session.begin():
                await ledger_moves.transfer_credits(
                    session, self._move(payer, credits), payee, MAX_CREDITS
                )
        except LimitReached:
            return False
        return True

    @rule(
        payer=st.sampled_from(CUSTOMERS),
        payee=st.sampled_from(CUSTOMERS),
        credits=st.integers(1, 1500),
    )
    def transfer(self, payer: str, payee: str, credits: int) -> None:
        if payer == payee:
            return
        moved = self.run(self._transfer(payer, payee, credits))
        assert moved == (self.model.credits[payer] >= credits)
        if moved:
            self.model.credits[payer] -= credits
            self.model.credits[payee] += credits

    # ------------------------------------------------------------------ withdrawals

    async def _lock(self, withdrawal_id: str, customer: str, amount: int) -> bool:
        at = self.now()
        try:
            async with self.sessions() as session, session.begin():
                await ledger_moves.lock_withdrawal(
                    session,
                    WalletWithdrawal(
                        id=withdrawal_id,
                        account_id=self.account,
                        customer_id=customer,
                        amount=amount,
                        currency=USD,
                        status="pending",
                        refunded=0,
                        request_hash="h",
                        created_at=at,
                        updated_at=at,
                    ),
                    lambda payment_id: f"re_{withdrawal_id}_{payment_id}",
                )
        except LimitReached:
            return False
        return True

    @rule(customer=st.sampled_from(CUSTOMERS), amount=st.integers(1, 60_000))
    def withdraw(self, customer: str, amount: int) -> None:
        withdrawal_id = f"wd_{uuid.uuid4().hex[:20]}"
        locked = self.run(self._lock(withdrawal_id, customer, amount))
        assert locked == (self.model.available[customer] >= amount)
        if locked:
            self.model.available[customer] -= amount
            self.model.locked[customer] += amount
            self.model.pending[withdrawal_id] = (customer, amount)

    async def _refund_payment(self, payment_id: str, amount: int) -> None:
        """What the deposit payment's workflow records when it refunds."""
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(Payment)
                .where(Payment.id == payment_id)
                .values(amount_refunded=Payment.amount_refunded + amount)
            )

    async def _finish(self, withdrawal_id: str, refunds_succeed: list[bool]) -> int:
        async with self.sessions() as session:
            planned = await ledger_moves.planned_refunds(session, withdrawal_id)
        amount = self.model.pending[withdrawal_id][1]
        assert sum(p.amount for p in planned) <= amount
        results = []
        for p, ok in zip(planned, refunds_succeed + [True] * len(planned), strict=False):
            refunded = ok and p.amount <= await self._left_to_refund(p.payment_id)
            if refunded:
                await self._refund_payment(p.payment_id, p.amount)
            results.append(DepositRefundResult(p.refund_id, p.payment_id, p.amount, refunded))
        for _ in range(2):  # a retried activity settles once
            async with self.sessions() as session, session.begin():
                await ledger_moves.finish_withdrawal(session, withdrawal_id, results, self.now())
        return amount - sum(r.amount for r in results if r.refunded)

    async def _left_to_refund(self, payment_id: str) -> int:
        async with self.sessions() as session:
            payment = await session.get(Payment, payment_id)
        assert payment is not None
        return payment.amount_captured - payment.amount_refunded

    @precondition(lambda self: bool(self.deposits))
    @rule(data=st.data())
    def merchant_refunds_a_deposit(self, data: st.DataObject) -> None:
        """A refund through the payments API, past the wallet: later withdrawals cannot pay
        back through what it took, and release what no other deposit covers."""
        payment_id = data.draw(st.sampled_from(self.deposits))
        left = self.run(self._left_to_refund(payment_id))
        if left > 0:
            self.run(self._refund_payment(payment_id, data.draw(st.integers(1, left))))

    @precondition(lambda self: bool(self.model.pending))
    @rule(data=st.data())
    def finish_withdrawal(self, data: st.DataObject) -> None:
        withdrawal_id = data.draw(st.sampled_from(sorted(self.model.pending)))
        refunds_succeed = data.draw(st.lists(st.booleans(), max_size=4))
        released = self.run(self._finish(withdrawal_id, refunds_succeed))
        customer, amount = self.model.pending.pop(withdrawal_id)
        self.model.locked[customer] -= amount
        self.model.available[customer] += released

    # ------------------------------------------------------------------ invariants

    async def _books(self) -> tuple[ledger_repo.LedgerCheck, dict[tuple[str, str], int]]:
        async with self.sessions() as session:
            check = await ledger_repo.check(session, self.account)
            balances = {}
            for customer in CUSTOMERS:
                for account in await ledger_repo.balances_of(session, self.account, customer):
                    balances[(customer, account.kind)] = account.balance
        return check, balances

    @invariant()
    def books_balance_and_match_the_model(self) -> None:
        check, balances = self.run(self._books())
        assert check.ok, check
        for customer in CUSTOMERS:
            assert balances.get((customer, "credits"), 0) == self.model.credits[customer]
            assert (
                balances.get((customer, "wallet_available"), 0) == (self.model.available[customer])
            )
            assert balances.get((customer, "wallet_locked"), 0) == self.model.locked[customer]
        assert all(balance >= 0 for balance in balances.values())


def test_random_sequences_keep_the_books_balanced(database_url: str) -> None:
    LedgerMachine.database_url = database_url
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=12,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
