"""Risk: the rules an account sets, what a payment would score now, a customer's limits, and
the review queue.

The payment's own scoring and limit reservation happen in its workflow (``activities/risk.py``);
this module fixes the terms a payment starts with (``risk_terms``), refuses at once what no
limit could allow (``require_within_single_limit``), and serves the risk routes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.audit import ActorType, AuditRecord
from contracts.payments import PaymentView
from contracts.risk import (
    PeriodLimits,
    ReviewDecision,
    RiskAssessment,
    RiskRule,
    RiskRules,
    RiskTerms,
    RiskThresholds,
    RuleAction,
    RuleCondition,
    ScoredPayment,
)
from contracts.risk_scoring import assess
from contracts.workflow_names import PaymentUpdate
from db.models import Customer, Payment
from db.repositories import payments as payments_repo
from db.repositories import risk as risk_repo
from services import audit, errors, temporal
from services.actor import current_actor
from services.customers import customer_to_charge
from services.ownership import owned
from services.runtime import Runtime
from settings import Settings


def default_rules(settings: Settings) -> RiskRules:
    return RiskRules(
        thresholds=RiskThresholds(
            challenge=settings.risk_challenge_threshold,
            review=settings.risk_review_threshold,
            block=settings.risk_block_threshold,
        )
    )


def rules_from_json(thresholds: dict[str, Any], rules: list[dict[str, Any]]) -> RiskRules:
    """Stored (or requested) JSON → the contract's rules."""
    return RiskRules(
        thresholds=RiskThresholds(**thresholds),
        rules=[
            RiskRule(action=RuleAction(rule["action"]), when=RuleCondition(**rule.get("when", {})))
            for rule in rules
        ],
    )


async def _rules_in_force(session: AsyncSession, settings: Settings, account_id: str) -> RiskRules:
    stored = await risk_repo.get_rules(session, account_id)
    if stored is None:
        return default_rules(settings)
    return rules_from_json(stored.thresholds, stored.rules)


def _tier_limits(
    settings: Settings, customer: Customer, currency: str
) -> tuple[int, int, int] | None:
    """(single, day, month) of the customer's KYC tier in ``currency``; none without a tier or
    for a currency the settings give no tier limits."""
    if customer.kyc_tier is None:
        return None
    return settings.kyc_tier_limits.get(currency, {}).get(customer.kyc_tier)


def require_within_single_limit(
    settings: Settings, customer: Customer, amount: int, currency: str
) -> None:
    """422 ``amount_exceeds_limit`` before anything starts: above the account's single-payment
    maximum, or above the single limit of the customer's KYC tier."""
    maximum = settings.single_payment_maximum.get(currency)
    if maximum is not None and amount > maximum:
        raise errors.AmountExceedsLimit(
            f"{amount} {currency} is above the single-payment maximum of {maximum}."
        )
    tier = _tier_limits(settings, customer, currency)
    if tier is not None and amount > tier[0]:
        raise errors.AmountExceedsLimit(
            f"{amount} {currency} is above the single limit of the {customer.kyc_tier} tier, "
            f"{tier[0]}."
        )


async def risk_terms(
    session: AsyncSession, settings: Settings, account_id: str, customer: Customer, currency: str
) -> RiskTerms:
    """What a payment starting now is scored and limited by."""
    tier = _tier_limits(settings, customer, currency)
    return RiskTerms(
        rules=await _rules_in_force(session, settings, account_id),
        large_amount=settings.risk_large_amount.get(currency),
        limits=None if tier is None else PeriodLimits(currency, daily=tier[1], monthly=tier[2]),
        review_timeout_seconds=int(settings.review_timeout.total_seconds()),
    )


async def get_rules(runtime: Runtime, account_id: str) -> RiskRules:
    async with runtime.database.reading() as session:
        return await _rules_in_force(session, runtime.settings, account_id)


async def put_rules(runtime: Runtime, account_id: str, key_id: str, rules: RiskRules) -> RiskRules:
    """Replace the account's rules, audited in the same transaction; payments started from now
    on are scored by them, those already started keep the rules they started with."""
    values = asdict(rules)
    async with runtime.database.writing() as session:
        await risk_repo.put_rules(
            session,
            account_id,
            {"thresholds": values["thresholds"], "rules": values["rules"]},
            datetime.now(UTC),
        )
        await audit.append(
            session,
            AuditRecord(
                account_id=account_id,
                actor_type=ActorType.API_KEY,
                actor_id=key_id,
                action="risk_rules.update",
                resource_id=account_id,
                outcome=200,
                details={"rules": len(rules.rules), **asdict(rules.thresholds)},
            ),
        )
    return rules


async def evaluate(
    runtime: Runtime, account_id: str, customer_id: str, amount: int, currency: str
) -> RiskAssessment:
    """The risk object a payment would get now: reads only, reserves nothing."""
    now = datetime.now(UTC)
    async with runtime.database.reading() as session:
        customer = await customer_to_charge(session, account_id, customer_id)
        rules = await _rules_in_force(session, runtime.settings, account_id)
        history = await risk_repo.customer_history(session, customer, currency, now, "")
    email = customer.email or ""
    payment = ScoredPayment(
        amount=amount,
        currency=currency,
        customer_id=customer.id,
        email_domain=email.rpartition("@")[2] or None,
    )
    return assess(payment, history, rules, runtime.settings.risk_large_amount.get(currency))


@dataclass(frozen=True)
class PeriodUsage:
    limit: int
    used: int
    remaining: int


@dataclass(frozen=True)
class CustomerLimits:
    kyc_tier: str | None
    currency: str
    single: int | None
    daily: PeriodUsage | None
    monthly: PeriodUsage | None


async def customer_limits(
    runtime: Runtime, account_id: str, customer_id: str, currency: str
) -> CustomerLimits:
    """The customer's limits in ``currency`` and what today and this month (UTC) hold of them."""
    settings = runtime.settings
    async with runtime.database.reading() as session:
        customer = await customer_to_charge(session, account_id, customer_id)
        held = await risk_repo.usage(session, customer.id, currency, datetime.now(UTC))
    tier = _tier_limits(settings, customer, currency)
    maximum = settings.single_payment_maximum.get(currency)
    if tier is None:
        return CustomerLimits(customer.kyc_tier, currency, maximum, None, None)
    single = tier[0] if maximum is None else min(tier[0], maximum)
    return CustomerLimits(
        customer.kyc_tier,
        currency,
        single,
        PeriodUsage(tier[1], held.daily, max(0, tier[1] - held.daily)),
        PeriodUsage(tier[2], held.monthly, max(0, tier[2] - held.monthly)),
    )


@dataclass(frozen=True)
class OpenReview:
    payment: Payment
    opened_at: datetime
    expires_at: datetime | None


async def list_reviews(runtime: Runtime, account_id: str) -> list[OpenReview]:
    """The caller's account's payments under review, oldest first."""
    async with runtime.database.reading() as session:
        rows = await risk_repo.open_reviews(session, account_id)
    return [
        OpenReview(
            payment=payment,
            opened_at=event.created_at if event is not None else payment.updated_at,
            expires_at=(
                datetime.fromisoformat(event.data["expires_at"])
                if event is not None and "expires_at" in event.data
                else None
            ),
        )
        for payment, event in rows
    ]


async def decide_review(
    runtime: Runtime,
    account_id: str,
    payment_id: str,
    key_id: str,
    *,
    approve: bool,
    reason: str | None = None,
) -> PaymentView:
    """Approve or reject a payment under review through its workflow, which captures or voids
    it; answers once that is done. The decision is audited here, with its reason and the
    outcome the caller got: the reason is free text, so it never enters the workflow's
    payloads (a decision from the Temporal UI is audited by the workflow)."""
    async with runtime.database.reading() as session:
        payment = await owned(
            payments_repo.get_payment(session, payment_id, account_id), f"payment {payment_id}"
        )
    verb = "approve" if approve else "reject"
    caller = current_actor()
    record = AuditRecord(
        account_id=account_id,
        actor_type=ActorType.API_KEY,
        actor_id=key_id,
        action=f"review.{verb}",
        resource_id=payment_id,
        outcome=200,
        details={"amount": payment.amount, "currency": payment.currency, "reason": reason},
        ip=caller.ip if caller else None,
        request_id=caller.request_id if caller else None,
    )
    try:
        view = await temporal.update_workflow(
            runtime.client,
            payment_id,
            PaymentUpdate.APPROVE_REVIEW if approve else PaymentUpdate.REJECT_REVIEW,
            ReviewDecision(actor_type=ActorType.API_KEY.value, actor_id=key_id),
            f"review:{payment_id}:{verb}",
            PaymentView,
        )
    except errors.AppError as error:
        await audit.record(runtime.database, replace(record, outcome=error.status))
        raise
    await audit.record(
        runtime.database,
        replace(record, details={**record.details, "status": view.status.value}),
    )
    return view
