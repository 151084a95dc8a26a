"""The ledger's workflow contracts: funding (credits purchases, wallet deposits) and withdrawals.

Balances live in the database as sums of ledger entries; what crosses a workflow boundary is only
what the workflows need to move money and to tell the ledger what happened: IDs and amounts.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from contracts.payments import PaymentInput, PaymentView

CREDITS = "CREDITS"
"""The ledger's unit for credits: not an ISO 4217 currency, so never summed with money."""


class FundingKind(StrEnum):
    """What a succeeded payment buys: credits, or money in the customer's wallet."""

    CREDITS = "credits"
    WALLET = "wallet"


class FundingStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class WithdrawalStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class FundingInput:
    """A credits purchase (``ctx_…``) or a wallet deposit (``dep_…``): the payment it starts as a
    child workflow and what its success grants (``amount`` in ``currency``: credits, or the
    deposit's minor units)."""

    funding_id: str
    kind: FundingKind
    account_id: str
    customer_id: str
    amount: int
    currency: str
    payment: PaymentInput


@dataclass(frozen=True)
class FundingSettlement:
    """The funding's payment has settled: grant (``succeeded``) or not, once, at ``at``."""

    funding_id: str
    succeeded: bool
    at: datetime


@dataclass(frozen=True)
class FundingView:
    """Where a funding stands; ``payment`` is its payment as it last reported itself."""

    funding_id: str
    status: FundingStatus
    payment: PaymentView | None


@dataclass(frozen=True)
class FundingSettleRequest:
    """Answer the create request once the funding is granted or failed."""

    funding_id: str


@dataclass(frozen=True)
class PlannedRefund:
    """One refund of a deposit that funded the wallet; ``refund_id`` is derived from the
    withdrawal and the deposit's payment, so a retry or a restarted worker refunds once."""

    payment_id: str
    refund_id: str
    amount: int


@dataclass(frozen=True)
class WithdrawalInput:
    """A withdrawal whose amount the API has already locked, and the refunds that pay it back,
    oldest deposit first."""

    withdrawal_id: str
    account_id: str
    customer_id: str
    amount: int
    currency: str
    refunds: list[PlannedRefund] = field(default_factory=list)


@dataclass(frozen=True)
class DepositRefundResult:
    """What one planned refund came to: ``refunded`` when the deposit's payment refunded it (a
    refund still pending at the provider counts: the money is on its way)."""

    refund_id: str
    payment_id: str
    amount: int
    refunded: bool


@dataclass(frozen=True)
class WithdrawalOutcome:
    """Settle what was refunded (locked → gone) and release the rest (locked → available)."""

    withdrawal_id: str
    refunds: list[DepositRefundResult]
    at: datetime


@dataclass(frozen=True)
class WithdrawalView:
    withdrawal_id: str
    status: WithdrawalStatus
    refunded: int
