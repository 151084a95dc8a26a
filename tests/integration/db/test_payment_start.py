"""``POST /v1/payments`` reads its customer, saved method and recorded payment in one query
(``payments_repo.start_rows``): every request it answers or refuses must be answered or refused
exactly as the separate lookups did."""

from __future__ import annotations

import pytest

from db.repositories import payments as payments_repo
from services.errors import AppError
from services.payments import PaymentRequest, payment_input
from settings import Environment, Settings
from tests.integration.db.test_repository import (
    ACCOUNT,
    T0,
    Sessions,
    customer,
    method,
    payment_values,
)

LIVE = "pm_" + "a" * 24
OTHERS = "pm_" + "b" * 24
DELETED = "pm_" + "d" * 24
UNKNOWN = "pm_" + "c" * 24
SETTINGS = Settings(environment=Environment.TEST)


async def _seed(sessions: Sessions) -> None:
    erased = customer("cus_erased")
    erased.erased_at = T0
    gone = method(DELETED, T0)
    gone.deleted_at = T0
    async with sessions() as session, session.begin():
        session.add_all([customer("cus_1"), customer("cus_2"), erased])
        await session.flush()
        session.add_all([method(LIVE, T0), method(OTHERS, T0, "cus_2"), gone])
        await session.flush()
        await payments_repo.save_payment_snapshot(session, payment_values("pay_1"))


async def test_start_rows_reads_the_customer_its_method_and_the_recorded_payment(
    sessions: Sessions,
) -> None:
    await _seed(sessions)
    async with sessions() as session:
        found = await payments_repo.start_rows(
            session, payment_id="pay_1", account_id=ACCOUNT, customer_id="cus_1", method_id=LIVE
        )
        fresh = await payments_repo.start_rows(
            session, payment_id="pay_2", account_id=ACCOUNT, customer_id="cus_1", method_id=None
        )
        elsewhere = await payments_repo.start_rows(
            session, payment_id="pay_1", account_id="acct_2", customer_id="cus_1", method_id=LIVE
        )

    assert found is not None and found.recorded is not None and found.method is not None
    assert (found.customer.id, found.method.id, found.recorded.id) == ("cus_1", LIVE, "pay_1")
    assert fresh is not None and (fresh.method, fresh.recorded) == (None, None)
    assert elsewhere is None


@pytest.mark.parametrize(
    ("account_id", "customer_id", "method_id"),
    [
        (ACCOUNT, "cus_1", LIVE),
        (ACCOUNT, "cus_1", None),
        ("acct_2", "cus_1", LIVE),
        (ACCOUNT, "cus_unknown", LIVE),
        (ACCOUNT, "cus_erased", LIVE),
        (ACCOUNT, "cus_1", OTHERS),
        (ACCOUNT, "cus_1", DELETED),
        (ACCOUNT, "cus_1", UNKNOWN),
        (ACCOUNT, "cus_1", "pm_1StripeShaped"),
    ],
)
async def test_a_payment_is_built_or_refused_as_by_separate_lookups(
    sessions: Sessions, account_id: str, customer_id: str, method_id: str | None
) -> None:
    await _seed(sessions)
    request = PaymentRequest(
        amount=1000,
        currency="EUR",
        customer_id=customer_id,
        payment_method_id=method_id,
        provider=None,
        capture_method="automatic",
        description=None,
        metadata={},
        return_url=None,
    )
    outcomes = []
    for read_together in (False, True):
        async with sessions() as session:
            known = (
                await payments_repo.start_rows(
                    session,
                    payment_id="pay_2",
                    account_id=account_id,
                    customer_id=customer_id,
                    method_id=method_id,
                )
                if read_together
                else None
            )
            try:
                built = await payment_input(
                    session, account_id, SETTINGS, request, "pay_2", "hash", known
                )
            except AppError as error:
                outcomes.append((type(error).__name__, error.detail))
            else:
                outcomes.append(("built", f"{built.provider} {built.payment_method_ref}"))

    assert outcomes[0] == outcomes[1]
