"""Payment links' rules: when a link is spent, how its token is kept, where Stripe.js comes from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts.payments import PaymentStatus
from db.models import Payment, PaymentLink
from services.links import LinkStatus, hash_token, link_status
from settings import Environment, Settings

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def link(**changes: object) -> PaymentLink:
    values: dict[str, object] = {
        "id": "plink_x",
        "expires_at": NOW + timedelta(days=1),
        "paid_at": None,
        "revoked_at": None,
        **changes,
    }
    return PaymentLink(**values)


def payment(status: PaymentStatus) -> Payment:
    return Payment(id="pay_x", status=status)


def test_a_link_is_used_once_its_payment_succeeded_even_when_later_revoked_or_expired() -> None:
    spent = link(revoked_at=NOW, expires_at=NOW - timedelta(days=1))
    assert link_status(spent, payment(PaymentStatus.SUCCEEDED), NOW) is LinkStatus.USED
    assert link_status(link(paid_at=NOW), None, NOW) is LinkStatus.USED


def test_a_failed_or_pending_payment_leaves_the_link_active() -> None:
    for status in (PaymentStatus.FAILED, PaymentStatus.REQUIRES_ACTION, PaymentStatus.PROCESSING):
        assert link_status(link(), payment(status), NOW) is LinkStatus.ACTIVE


def test_revoked_and_expired() -> None:
    assert link_status(link(revoked_at=NOW), None, NOW) is LinkStatus.REVOKED
    assert link_status(link(expires_at=NOW), None, NOW) is LinkStatus.EXPIRED


def test_the_token_is_kept_as_its_sha256() -> None:
    assert hash_token("tok-example") == (
        "aaea86ddb8f82780b00d0659ad6b4f56e83e82aed8b5f5a1d84187b1a02a1c66"
    )


def test_stripe_js_comes_from_stripe_in_production_and_from_the_stand_in_in_dev() -> None:
    assert (
        Settings(
            environment=Environment.TEST, stripe_api_base="https://api.stripe.com"
        ).stripe_js_source
        == "https://js.stripe.com/v3/"
    )
    assert (
        Settings(
            environment=Environment.TEST, stripe_api_base="http://127.0.0.1:8420"
        ).stripe_js_source
        == "http://127.0.0.1:8420/js.stripe.com/v3/"
    )
    assert (
        Settings(
            environment=Environment.TEST, stripe_js_url="https://cdn.example/v3/"
        ).stripe_js_source
        == "https://cdn.example/v3/"
    )
