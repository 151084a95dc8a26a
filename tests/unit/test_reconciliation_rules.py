"""What reconciliation makes of each provider object (``activities.reconciliation.judge``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from activities.reconciliation import Owner, judge
from contracts.payments import PaymentStatus
from contracts.providers import ProviderName
from contracts.reconciliation import DriftAction, DriftKind, ProviderObject, ProviderObjectKind

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
GRACE = timedelta(minutes=15)


def found(
    kind: ProviderObjectKind,
    status: str,
    *,
    age: timedelta = timedelta(hours=1),
    intent: str | None = "pi_1",
    tag: str | None = None,
    provider: ProviderName = ProviderName.STRIPE,
) -> ProviderObject:
    reference = intent if kind is ProviderObjectKind.INTENT and intent else "ch_1"
    return ProviderObject(
        provider=provider,
        kind=kind,
        reference=reference,
        status=status,
        amount=1234,
        currency="USD",
        created_at=NOW - age,
        intent_reference=intent,
        tag=tag,
    )


def owner(status: PaymentStatus, reference: str | None = "pi_1") -> Owner:
    return Owner("pay_1", "acct_1", status, reference)


def verdict(obj: ProviderObject, own: Owner | None, tagged: Owner | None = None) -> object:
    drift = judge(obj, own, tagged, now=NOW, orphan_grace=GRACE)
    return None if drift is None else (drift.kind, drift.action, drift.payment_id)


def test_a_charge_no_payment_owns_is_alerted() -> None:
    assert verdict(found(ProviderObjectKind.CHARGE, "succeeded"), None) == (
        DriftKind.UNOWNED_CHARGE,
        DriftAction.ALERTED,
        None,
    )


def test_a_failed_charge_no_payment_owns_moved_no_money() -> None:
    assert verdict(found(ProviderObjectKind.CHARGE, "failed"), None) is None


def test_a_paypal_capture_of_a_payment_still_waiting_on_its_create_is_left_to_it() -> None:
    capture = found(
        ProviderObjectKind.CHARGE,
        "completed",
        age=timedelta(minutes=1),
        tag="pay_1",
        provider=ProviderName.PAYPAL,
        intent="ORDER1",
    )
    assert verdict(capture, None, owner(PaymentStatus.PROCESSING, None)) is None
    later = found(ProviderObjectKind.CHARGE, "completed", tag="pay_1", provider=ProviderName.PAYPAL)
    assert verdict(later, None, owner(PaymentStatus.PROCESSING, None)) == (
        DriftKind.UNOWNED_CHARGE,
        DriftAction.ALERTED,
        "pay_1",
    )


@pytest.mark.parametrize("status", ["requires_confirmation", "requires_payment_method"])
def test_an_unconfirmed_intent_left_by_a_repeated_create_is_canceled_at_once(status: str) -> None:
    orphan = found(ProviderObjectKind.INTENT, status, age=timedelta(0), intent="pi_2", tag="pay_1")
    assert verdict(orphan, None, owner(PaymentStatus.SUCCEEDED, "pi_1")) == (
        DriftKind.ORPHAN_INTENT,
        DriftAction.CANCELED,
        "pay_1",
    )


def test_an_unowned_intent_is_given_time_for_its_payment_to_record_it() -> None:
    young = found(ProviderObjectKind.INTENT, "requires_confirmation", age=timedelta(minutes=1))
    assert verdict(young, None) is None
    old = found(ProviderObjectKind.INTENT, "requires_confirmation", age=timedelta(minutes=20))
    assert verdict(old, None) == (DriftKind.ORPHAN_INTENT, DriftAction.CANCELED, None)


def test_an_authorization_no_payment_owns_is_alerted_not_canceled() -> None:
    held = found(ProviderObjectKind.INTENT, "requires_capture")
    assert verdict(held, None) == (DriftKind.UNOWNED_AUTHORIZATION, DriftAction.ALERTED, None)


def test_an_open_payment_behind_its_provider_is_signalled_to_re_read() -> None:
    paid = found(ProviderObjectKind.INTENT, "succeeded")
    assert verdict(paid, owner(PaymentStatus.REQUIRES_ACTION)) == (
        DriftKind.STALE_STATUS,
        DriftAction.SIGNALED,
        "pay_1",
    )


def test_a_finished_payment_that_disagrees_is_alerted() -> None:
    paid = found(ProviderObjectKind.INTENT, "succeeded")
    assert verdict(paid, owner(PaymentStatus.FAILED)) == (
        DriftKind.STATUS_MISMATCH,
        DriftAction.ALERTED,
        "pay_1",
    )


@pytest.mark.parametrize(
    ("status", "recorded"),
    [
        ("succeeded", PaymentStatus.SUCCEEDED),
        ("requires_capture", PaymentStatus.REQUIRES_CAPTURE),
        ("canceled", PaymentStatus.CANCELED),
        ("requires_payment_method", PaymentStatus.FAILED),
        ("requires_confirmation", PaymentStatus.PROCESSING),
    ],
)
def test_agreeing_and_in_flight_payments_are_left_alone(
    status: str, recorded: PaymentStatus
) -> None:
    assert verdict(found(ProviderObjectKind.INTENT, status), owner(recorded)) is None


def test_a_charge_of_a_succeeded_payment_agrees() -> None:
    charge = found(ProviderObjectKind.CHARGE, "succeeded")
    assert verdict(charge, owner(PaymentStatus.SUCCEEDED)) is None


def refund(status: str = "succeeded") -> ProviderObject:
    return ProviderObject(
        provider=ProviderName.STRIPE,
        kind=ProviderObjectKind.REFUND,
        reference="re_1",
        status=status,
        amount=500,
        currency="USD",
        created_at=NOW,
        intent_reference="pi_1",
    )


def test_a_refund_durapay_never_made_is_alerted_on_the_payment_it_returns() -> None:
    drift = judge(refund(), owner(PaymentStatus.SUCCEEDED), None, now=NOW, orphan_grace=GRACE)
    assert drift is not None
    assert (drift.kind, drift.action, drift.payment_id, drift.amount) == (
        DriftKind.UNOWNED_REFUND,
        DriftAction.ALERTED,
        "pay_1",
        500,
    )


def test_a_recorded_or_failed_refund_agrees() -> None:
    own = owner(PaymentStatus.SUCCEEDED)
    assert judge(refund(), own, None, now=NOW, orphan_grace=GRACE, refund_recorded=True) is None
    assert judge(refund("failed"), own, None, now=NOW, orphan_grace=GRACE) is None
