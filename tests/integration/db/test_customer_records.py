"""A customer's records on both backends: found by email, re-saved methods come back, and erasure
empties what identifies the person (on the customer and on the mails sent to them) while the
money records stay."""

from __future__ import annotations

from datetime import timedelta

from db.repositories import customers as customers_repo
from db.repositories import dunning as dunning_repo
from db.repositories import mail as mail_repo
from db.repositories import payment_methods as payment_methods_repo
from db.repositories import payments as payments_repo
from tests.integration.db.test_repository import (
    T0,
    Sessions,
    customer,
    defaults,
    method,
    payment_values,
    refund_values,
    with_customer,
)


async def test_resaving_a_deleted_method_restores_it(sessions: Sessions) -> None:
    await with_customer(sessions)
    async with sessions() as session, session.begin():
        await payment_methods_repo.save_payment_method(session, method("pm_1", T0))
        await payment_methods_repo.soft_delete_payment_method(session, "cus_1", "pm_1")
    async with sessions() as session, session.begin():
        restored = await payment_methods_repo.save_payment_method(
            session, method("pm_1", T0 + timedelta(days=1))
        )
    assert (restored.deleted_at, restored.is_default, restored.created_at) == (None, True, T0)
    async with sessions() as session:
        listed = await payment_methods_repo.list_payment_methods(session, "cus_1")
    assert [m.id for m in listed] == ["pm_1"]


async def test_a_restored_method_leaves_the_default_where_it_is(sessions: Sessions) -> None:
    await with_customer(sessions)
    async with sessions() as session, session.begin():
        await payment_methods_repo.save_payment_method(session, method("pm_1", T0))
        await payment_methods_repo.save_payment_method(session, method("pm_2", T0))
        await payment_methods_repo.soft_delete_payment_method(session, "cus_1", "pm_1")
        restored = await payment_methods_repo.save_payment_method(session, method("pm_1", T0))
    assert not restored.is_default
    assert await defaults(sessions) == ["pm_2"]


async def test_customers_are_found_by_exact_email_within_their_account(
    sessions: Sessions,
) -> None:
    rows = [
        ("cus_1", "acct_1", "ada@example.com", 0),
        ("cus_2", "acct_1", "grace@example.com", 1),
        ("cus_3", "acct_1", "ada@example.com", 2),
        ("cus_4", "acct_2", "ada@example.com", 3),
    ]
    async with sessions() as session, session.begin():
        for customer_id, account_id, email, minute in rows:
            row = customer(customer_id, account_id)
            row.email, row.created_at = email, T0 + timedelta(minutes=minute)
            await customers_repo.add_customer(session, row)
    async with sessions() as session:
        first, more = await customers_repo.list_customers(
            session, account_id="acct_1", email="ada@example.com", limit=1
        )
        rest, after = await customers_repo.list_customers(
            session, account_id="acct_1", email="ada@example.com", limit=1, starting_after="cus_3"
        )
        other_case, _ = await customers_repo.list_customers(
            session, account_id="acct_1", email="ADA@example.com", limit=10
        )
    assert ([c.id for c in first], more) == (["cus_3"], True)
    assert ([c.id for c in rest], after) == (["cus_1"], False)
    assert other_case == []


async def test_erasure_empties_the_person_and_keeps_the_money(sessions: Sessions) -> None:
    await with_customer(sessions)
    await with_customer(sessions, "cus_2")
    async with sessions() as session, session.begin():
        await payments_repo.save_payment_snapshot(session, payment_values())
        await dunning_repo.open_dunning_case(
            session,
            invoice_id="in_1_0002",
            subscription_id="sub_1",
            customer_id="cus_1",
            account_id="acct_1",
            amount=2900,
            currency="USD",
            opened_at=T0,
        )
        for key, to in [
            ("dun_in_1_0002:payment_failed", "old-address@example.com"),
            ("receipt:pay_1", "ada@example.com"),
            ("dun_in_9_0002:payment_failed", "someone@example.com"),
        ]:
            await mail_repo.record_mail(session, mail_repo.NewMail(key, to, "t", "s", "b", T0))
    async with sessions() as session, session.begin():
        erased = await customers_repo.erase_customer(session, "cus_1", T0 + timedelta(days=1))
        again = await customers_repo.erase_customer(session, "cus_1", T0 + timedelta(days=2))
        changed = await mail_repo.erase_recipient(session, "cus_1", "ada@example.com", "(erased)")
    async with sessions() as session:
        mails = {
            m.key: m.to_address for m in await mail_repo.mails_to_customer(session, "cus_1", None)
        }
        untouched = await mail_repo.get_mail(session, "dun_in_9_0002:payment_failed")
        other = await customers_repo.get_customer(session, "cus_2")
        payment = await payments_repo.get_payment(session, "pay_1")
    assert (erased.email, erased.name, erased.metadata_, erased.request_hash) == (
        None,
        None,
        {},
        None,
    )
    assert erased.erased_at == again.erased_at == T0 + timedelta(days=1)
    assert changed == 2
    assert mails == {"dun_in_1_0002:payment_failed": "(erased)"}
    assert untouched is not None and untouched.to_address == "someone@example.com"
    assert other is not None and other.email == "ada@example.com", "another customer's own row"
    assert payment is not None and payment.customer_id == "cus_1"


async def test_an_erased_customer_cannot_be_updated(sessions: Sessions) -> None:
    await with_customer(sessions)
    async with sessions() as session, session.begin():
        await customers_repo.erase_customer(session, "cus_1", T0)
        updated = await customers_repo.update_customer(
            session, "cus_1", {"email": "back@example.com", "metadata_": {"a": "b"}}
        )
    assert updated is not None
    assert (updated.email, updated.metadata_) == (None, {})


async def test_update_sets_only_the_given_fields(sessions: Sessions) -> None:
    await with_customer(sessions)
    async with sessions() as session, session.begin():
        updated = await customers_repo.update_customer(
            session, "cus_1", {"name": None, "kyc_tier": "basic", "metadata_": {"plan": "x"}}
        )
    assert updated is not None
    assert (updated.email, updated.name, updated.kyc_tier, updated.metadata_) == (
        "ada@example.com",
        None,
        "basic",
        {"plan": "x"},
    )


async def test_refunds_of_a_customer_are_those_of_their_payments(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        await payments_repo.save_payment_snapshot(session, payment_values())
        await payments_repo.save_payment_snapshot(
            session, payment_values(payment_id="pay_2", customer_id="cus_2")
        )
        await payments_repo.save_refund(session, refund_values("re_1", "succeeded", 1))
        await payments_repo.save_refund(
            session, refund_values("re_2", "succeeded", 2, payment_id="pay_2")
        )
    async with sessions() as session:
        refunds = await payments_repo.refunds_of_customer(session, "cus_1")
    assert [r.id for r in refunds] == ["re_1"]
