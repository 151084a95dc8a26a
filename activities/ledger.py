"""Ledger writes made by workflows: granting a settled funding, finishing a withdrawal.

Each is one database transaction and idempotent by the ledger transaction ids it posts (the
funding's id; ``<wd>:settle`` and ``<wd>:release``), so a retried or replayed activity, or a
worker killed after the commit but before reporting it, grants and settles exactly once.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from contracts.ledger import (
    FundingSettlement,
    FundingStatus,
    WithdrawalOutcome,
    WithdrawalStatus,
    WithdrawalView,
)
from db.repositories import ledger_moves


class LedgerActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name="settle_funding")
    async def settle_funding(self, settlement: FundingSettlement) -> FundingStatus:
        async with self._sessions() as session, session.begin():
            return await ledger_moves.settle_funding(
                session, settlement.funding_id, settlement.succeeded, settlement.at
            )

    @activity.defn(name="finish_withdrawal")
    async def finish_withdrawal(self, outcome: WithdrawalOutcome) -> WithdrawalView:
        async with self._sessions() as session, session.begin():
            withdrawal = await ledger_moves.finish_withdrawal(
                session, outcome.withdrawal_id, outcome.refunds, outcome.at
            )
            return WithdrawalView(
                withdrawal_id=withdrawal.id,
                status=WithdrawalStatus(withdrawal.status),
                refunded=withdrawal.refunded,
            )
