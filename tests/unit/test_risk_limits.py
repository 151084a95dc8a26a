"""What the API refuses before anything starts (the account's single maximum, the tier's single
limit) and the terms a payment starts with, from the settings and the customer's KYC tier."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from db.models import Customer
from services import errors
from services.risk import require_within_single_limit, rules_from_json
from settings import Environment, Settings

SETTINGS = Settings(environment=Environment.TEST)


def _customer(tier: str | None) -> Customer:
    return Customer(
        id="cus_1", account_id="acct_1", kyc_tier=tier, created_at=datetime.now(UTC), metadata_={}
    )


def test_the_account_maximum_is_50000_dollars_whatever_the_tier() -> None:
    require_within_single_limit(SETTINGS, _customer(None), 5_000_000, "USD")
    with pytest.raises(errors.AmountExceedsLimit):
        require_within_single_limit(SETTINGS, _customer(None), 5_000_001, "USD")
    with pytest.raises(errors.AmountExceedsLimit):
        require_within_single_limit(SETTINGS, _customer("advanced"), 5_000_001, "USD")


def test_a_tier_single_limit_applies_in_its_currency_only() -> None:
    require_within_single_limit(SETTINGS, _customer("basic"), 100_000, "USD")
    with pytest.raises(errors.AmountExceedsLimit) as refused:
        require_within_single_limit(SETTINGS, _customer("basic"), 100_001, "USD")
    require_within_single_limit(SETTINGS, _customer("basic"), 100_001, "EUR")

    assert refused.value.code == "amount_exceeds_limit" and refused.value.status == 422


def test_stored_rules_read_back_as_the_contract_rules() -> None:
    rules = rules_from_json(
        {"challenge": 20, "review": 50, "block": 90},
        [{"action": "block", "when": {"email_domain_in": ["mailinator.com"]}}, {"action": "allow"}],
    )

    assert (rules.thresholds.challenge, rules.thresholds.block) == (20, 90)
    assert [rule.action.value for rule in rules.rules] == ["block", "allow"]
    assert rules.rules[0].when.email_domain_in == ["mailinator.com"]
    assert rules.rules[1].when.amount_gte is None
