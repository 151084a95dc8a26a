"""Credits, wallets and the ledger check: thin routes over ``services.credits``,
``services.wallet`` and ``services.ledger``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from api.answers import created_or_found, found_again
from api.deps import AdminDep, IdempotencyKeyDep, PageQueryDep, PrincipalDep, RuntimeDep
from api.problems import problems
from api.schemas.common import Page, page_of
from api.schemas.ledger import (
    CreditConsumeCreate,
    CreditPurchaseCreate,
    CreditPurchaseOut,
    CreditsOut,
    CreditTransactionOut,
    CreditTransferCreate,
    DepositCreate,
    LedgerCheckOut,
    WalletBalanceOut,
    WalletOut,
    WalletTransactionOut,
    WithdrawalCreate,
    WithdrawalOut,
)
from api.schemas.payments import PaymentOut
from services import credits, errors, ledger, wallet

router = APIRouter(prefix="/v1", tags=["credits and wallet"])

CUSTOMER = "/customers/{customer_id}"


@router.get(CUSTOMER + "/credits", responses=problems(errors.NotFound))
async def get_credits(customer_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> CreditsOut:
    return CreditsOut.model_validate(
        await credits.get_credits(runtime, principal.account_id, customer_id)
    )


@router.post(
    CUSTOMER + "/credits/purchase",
    status_code=status.HTTP_201_CREATED,
    responses={
        **found_again(CreditPurchaseOut),
        **problems(
            errors.NotFound,
            errors.IdempotencyKeyReused,
            errors.CreditsBelowMinimum,
            errors.CreditBalanceLimit,
            errors.PaymentMethodNotFound,
            errors.ProviderNotAvailable,
            errors.ServiceUnavailable,
        ),
    },
)
async def purchase_credits(
    customer_id: str,
    body: CreditPurchaseCreate,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    response: Response,
) -> CreditPurchaseOut:
    """A payment of ``credits / DURAPAY_CREDITS_PER_DOLLAR`` USD; the credits are granted once,
    when it succeeds (``status`` is ``pending`` until then)."""
    outcome = await credits.purchase_credits(
        runtime,
        principal.account_id,
        customer_id,
        body.credits,
        body.payment_method_id,
        idempotency_key,
    )
    return created_or_found(CreditPurchaseOut, outcome, response)


@router.post(
    CUSTOMER + "/credits/consume",
    status_code=status.HTTP_201_CREATED,
    responses={
        **found_again(CreditTransactionOut),
        **problems(errors.NotFound, errors.IdempotencyKeyReused, errors.InsufficientCredits),
    },
)
async def consume_credits(
    customer_id: str,
    body: CreditConsumeCreate,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    response: Response,
) -> CreditTransactionOut:
    """Take the credits now, or 402 ``insufficient_credits`` with nothing taken."""
    outcome = await credits.consume_credits(
        runtime, principal.account_id, customer_id, body.credits, body.reason, idempotency_key
    )
    return created_or_found(CreditTransactionOut, outcome, response)


@router.post(
    CUSTOMER + "/credits/transfer",
    status_code=status.HTTP_201_CREATED,
    responses={
        **found_again(CreditTransactionOut),
        **problems(
            errors.NotFound,
            errors.IdempotencyKeyReused,
            errors.InsufficientCredits,
            errors.CustomerNotFound,
            errors.CreditBalanceLimit,
        ),
    },
)
async def transfer_credits(
    customer_id: str,
    body: CreditTransferCreate,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    response: Response,
) -> CreditTransactionOut:
    """Move credits to another customer of the account, all or nothing."""
    outcome = await credits.transfer_credits(
        runtime,
        principal.account_id,
        customer_id,
        body.to_customer_id,
        body.credits,
        idempotency_key,
    )
    return created_or_found(CreditTransactionOut, outcome, response)


@router.get(CUSTOMER + "/credits/transactions", responses=problems(errors.NotFound))
async def list_credit_transactions(
    customer_id: str, principal: PrincipalDep, runtime: RuntimeDep, paging: PageQueryDep
) -> Page[CreditTransactionOut]:
    rows, has_more = await credits.list_credit_transactions(
        runtime,
        principal.account_id,
        customer_id,
        limit=paging.limit,
        starting_after=paging.starting_after,
    )
    return page_of(CreditTransactionOut, rows, has_more)


@router.get(CUSTOMER + "/wallet", responses=problems(errors.NotFound))
async def get_wallet(customer_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> WalletOut:
    """Per currency: ``available``, ``locked`` (withdrawals being paid back) and their total."""
    balances = await wallet.get_wallet(runtime, principal.account_id, customer_id)
    return WalletOut(data=[WalletBalanceOut.model_validate(b) for b in balances])


@router.post(
    CUSTOMER + "/wallet/deposits",
    status_code=status.HTTP_201_CREATED,
    responses={
        **found_again(PaymentOut),
        **problems(
            errors.NotFound,
            errors.IdempotencyKeyReused,
            errors.PaymentMethodNotFound,
            errors.ProviderNotAvailable,
            errors.AmountNotRepresentable,
            errors.AmountExceedsLimit,
            errors.ServiceUnavailable,
        ),
    },
)
async def deposit(
    customer_id: str,
    body: DepositCreate,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    response: Response,
) -> PaymentOut:
    """A payment into the wallet; ``available`` grows once it succeeds."""
    outcome = await wallet.deposit(
        runtime,
        principal.account_id,
        customer_id,
        body.amount,
        body.currency,
        body.payment_method_id,
        idempotency_key,
    )
    return created_or_found(PaymentOut, outcome, response)


@router.post(
    CUSTOMER + "/wallet/withdrawals",
    status_code=status.HTTP_201_CREATED,
    responses={
        **found_again(WithdrawalOut),
        **problems(
            errors.NotFound,
            errors.IdempotencyKeyReused,
            errors.InsufficientFunds,
            errors.ServiceUnavailable,
        ),
    },
)
async def withdraw(
    customer_id: str,
    body: WithdrawalCreate,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    response: Response,
) -> WithdrawalOut:
    """Lock the amount at once (402 ``insufficient_funds`` otherwise), then pay it back through
    refunds of the deposits that funded the wallet, oldest first."""
    outcome = await wallet.withdraw(
        runtime, principal.account_id, customer_id, body.amount, body.currency, idempotency_key
    )
    return created_or_found(WithdrawalOut, outcome, response)


@router.get(CUSTOMER + "/wallet/transactions", responses=problems(errors.NotFound))
async def list_wallet_transactions(
    customer_id: str,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    paging: PageQueryDep,
    type_filter: Annotated[Literal["deposit", "withdrawal"] | None, Query(alias="type")] = None,
    status_filter: Annotated[
        Literal["pending", "succeeded", "failed"] | None, Query(alias="status")
    ] = None,
) -> Page[WalletTransactionOut]:
    rows, has_more = await wallet.list_wallet_transactions(
        runtime,
        principal.account_id,
        customer_id,
        type_filter=type_filter,
        status=status_filter,
        limit=paging.limit,
        starting_after=paging.starting_after,
    )
    return page_of(WalletTransactionOut, rows, has_more)


@router.get("/admin/ledger/check")
async def check_ledger(runtime: RuntimeDep, admin: AdminDep) -> LedgerCheckOut:
    """The caller's account's books: every transaction sums to zero per currency, every cached
    balance equals its entries, no customer's balance is below zero."""
    return LedgerCheckOut.model_validate(await ledger.check_ledger(runtime, admin.account_id))
