"""Risk: an account's rules, a side-effect-free evaluation, a customer's limits, and the
review queue where operators approve or reject held payments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AdminDep, PrincipalDep, RuntimeDep
from api.problems import problems
from api.schemas.payments import PaymentOut, RiskOut
from api.schemas.risk import (
    EvaluateIn,
    LimitsOut,
    RejectIn,
    ReviewList,
    ReviewOut,
    RulesIn,
    RulesOut,
)
from services import errors, risk

router = APIRouter(tags=["risk"])


@router.get("/v1/admin/risk/rules")
async def get_rules(principal: AdminDep, runtime: RuntimeDep) -> RulesOut:
    """The caller's account's rules and thresholds in force (the settings' until first set)."""
    return RulesOut.model_validate(await risk.get_rules(runtime, principal.account_id))


@router.put("/v1/admin/risk/rules")
async def put_rules(body: RulesIn, principal: AdminDep, runtime: RuntimeDep) -> RulesOut:
    """Replace the rules: the first matching rule decides (``allow`` skips the score's decision,
    never the limits), then the thresholds. Audited; applies to payments started afterwards."""
    rules = risk.rules_from_json(
        body.thresholds.model_dump(),
        [rule.model_dump(exclude_none=True) for rule in body.rules],
    )
    saved = await risk.put_rules(runtime, principal.account_id, principal.key_id, rules)
    return RulesOut.model_validate(saved)


@router.post("/v1/risk/evaluate", responses=problems(errors.CustomerNotFound))
async def evaluate(body: EvaluateIn, principal: PrincipalDep, runtime: RuntimeDep) -> RiskOut:
    """The risk object a payment would get now; nothing is recorded or reserved."""
    assessment = await risk.evaluate(
        runtime, principal.account_id, body.customer_id, body.amount, body.currency
    )
    return RiskOut.model_validate(assessment)


@router.get("/v1/customers/{customer_id}/limits", responses=problems(errors.CustomerNotFound))
async def customer_limits(
    customer_id: str,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    currency: Annotated[str, Query(min_length=3, max_length=3)] = "USD",
) -> LimitsOut:
    """The customer's single, daily and monthly limits in ``currency`` and what the current UTC
    day and month hold of them (succeeded and pending payments; a failed or canceled payment
    gives its amount back, a refund does not)."""
    limits = await risk.customer_limits(
        runtime, principal.account_id, customer_id, currency.upper()
    )
    return LimitsOut.model_validate(limits)


@router.get("/v1/admin/reviews")
async def list_reviews(principal: AdminDep, runtime: RuntimeDep) -> ReviewList:
    """The caller's account's payments under review, oldest first."""
    reviews = await risk.list_reviews(runtime, principal.account_id)
    return ReviewList(
        data=[
            ReviewOut(
                payment_id=review.payment.id,
                customer_id=review.payment.customer_id,
                amount=review.payment.amount,
                currency=review.payment.currency,
                risk=RiskOut.model_validate(review.payment.risk) if review.payment.risk else None,
                opened_at=review.opened_at,
                expires_at=review.expires_at,
            )
            for review in reviews
        ]
    )


@router.post(
    "/v1/admin/reviews/{payment_id}/approve",
    responses=problems(errors.NotFound, errors.InvalidState, errors.ProviderError),
)
async def approve_review(payment_id: str, principal: AdminDep, runtime: RuntimeDep) -> PaymentOut:
    """The payment goes on: captured when its capture method is automatic, ``requires_capture``
    when manual."""
    view = await risk.decide_review(
        runtime, principal.account_id, payment_id, principal.key_id, approve=True
    )
    return PaymentOut.model_validate(view)


@router.post(
    "/v1/admin/reviews/{payment_id}/reject",
    responses=problems(errors.NotFound, errors.InvalidState, errors.ProviderError),
)
async def reject_review(
    payment_id: str, principal: AdminDep, runtime: RuntimeDep, body: RejectIn | None = None
) -> PaymentOut:
    """The authorization is voided; the payment fails with ``review_rejected``."""
    view = await risk.decide_review(
        runtime,
        principal.account_id,
        payment_id,
        principal.key_id,
        approve=False,
        reason=body.reason if body else None,
    )
    return PaymentOut.model_validate(view)
