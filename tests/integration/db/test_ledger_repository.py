"""The ledger's repository: a transaction that does not sum to zero is refused before anything is
written, and a customer's movements for statements (``ledger_movements``) say what they hold in
one currency grew or shrank, when, and by which purchase, deposit or withdrawal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.ledger import CREDITS, DepositRefundResult, FundingKind, FundingStatus
from db.models import LedgerEntry, LedgerFunding, LedgerTransaction, WalletWithdrawal
from db.repositories import ledger as ledger_repo
from db.repositories import ledger_moves
from db.repositories import payments as payments_repo
from db.repositories.ledger import LedgerMovement, NewTransaction, Posting, Unbalanced
from db.repositories.ledger_moves import CreditMove
from tests.integration.db.test_repository import payment_values

ACCOUNT = "acct_1"
CUSTOMER = "cus_1"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def fund(session: AsyncSession, funding_id: str, kind: FundingKind, amount: int) -> None:
    currency = CREDITS if kind is FundingKind.CREDITS else "USD"
    minute = int(funding_id.rsplit("_", 1)[1])
    await ledger_moves.add_funding(
        session,
        LedgerFunding(
            id=funding_id,
            account_id=ACCOUNT,
            customer_id=CUSTOMER,
            kind=kind.value,
            amount=amount,
            currency=currency,
            payment_id=f"pay_{minute}",
            status=FundingStatus.PENDING.value,
            request_hash="h",
            created_at=at(minute),
            updated_at=at(minute),
        ),
    )
    if kind is FundingKind.WALLET:
        await payments_repo.save_payment_snapshot(
            session,
            payment_values(
                f"pay_{minute}",
                status="succeeded",
                account_id=ACCOUNT,
                customer_id=CUSTOMER,
                amount=amount,
                amount_captured=amount,
                currency="USD",
            ),
        )
    await ledger_moves.settle_funding(session, funding_id, True, at(minute))


async def withdraw(session: AsyncSession, withdrawal_id: str, amount: int, refunded: bool) -> None:
    minute = int(withdrawal_id.rsplit("_", 1)[1])
    await ledger_moves.lock_withdrawal(
        session,
        WalletWithdrawal(
            id=withdrawal_id,
            account_id=ACCOUNT,
            customer_id=CUSTOMER,
            amount=amount,
            currency="USD",
            status="pending",
            refunded=0,
            request_hash="h",
            created_at=at(minute),
            updated_at=at(minute),
        ),
        lambda payment_id: f"re_{withdrawal_id}_{payment_id}",
    )
    planned = await ledger_moves.planned_refunds(session, withdrawal_id)
    results = [DepositRefundResult(p.refund_id, p.payment_id, p.amount, refunded) for p in planned]
    await ledger_moves.finish_withdrawal(session, withdrawal_id, results, at(minute + 1))


async def test_movements_are_what_the_customer_holds_changing_in_one_currency(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        await fund(session, "ctx_1", FundingKind.CREDITS, 500)
        await ledger_moves.consume_credits(
            session, CreditMove("ctx_2", ACCOUNT, CUSTOMER, 20, "h", at(2)), "api_call"
        )
        await fund(session, "dep_3", FundingKind.WALLET, 10000)
        await withdraw(session, "wd_4", 3000, refunded=True)
        await withdraw(session, "wd_6", 1000, refunded=False)

    async with sessions() as session:
        usd = await ledger_repo.ledger_movements(session, ACCOUNT, CUSTOMER, "usd", T0, at(60))
        credits = await ledger_repo.ledger_movements(
            session, ACCOUNT, CUSTOMER, CREDITS, T0, at(60)
        )
        before_the_withdrawal = await ledger_repo.ledger_movements(
            session, ACCOUNT, CUSTOMER, "USD", T0, at(5)
        )

    assert usd == [
        LedgerMovement(at=at(3), type="deposit", reference="pay_3", amount=10000),
        LedgerMovement(at=at(5), type="withdrawal", reference="wd_4", amount=-3000),
    ]
    assert credits == [
        LedgerMovement(at=at(1), type="credit", reference="ctx_1", amount=500),
        LedgerMovement(at=at(2), type="credit", reference="ctx_2", amount=-20),
    ]
    assert before_the_withdrawal == usd[:1]


async def test_a_transaction_that_does_not_sum_to_zero_is_refused_unwritten(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    credits = ledger_moves.credits_of(ACCOUNT, CUSTOMER)
    issued = ledger_moves.platform(ACCOUNT, "credits_issued", CREDITS)
    lopsided = [Posting(credits, 100), Posting(issued, -99)]

    async with sessions() as session, session.begin():
        with pytest.raises(Unbalanced):
            await ledger_repo.post(
                session,
                NewTransaction("ctx_1", ACCOUNT, CUSTOMER, "credit_purchase", "ctx_1", at(1)),
                lopsided,
            )

    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(LedgerTransaction)) == 0
        assert await session.scalar(select(func.count()).select_from(LedgerEntry)) == 0
        assert await ledger_repo.balance(session, credits) == 0
