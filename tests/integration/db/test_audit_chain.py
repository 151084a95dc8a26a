"""The audit append's one-upsert path (``append_new``) chains exactly as before, on SQLite and
PostgreSQL: the same hash inputs (a vector computed by the earlier code), entries of both paths
in one chain that verifies, and a reused id refused by the primary key, the chain untouched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.audit import ActorType, AuditRecord
from db.ids import random_id
from db.models import AuditEntry, AuditHead
from db.repositories import audit as audit_repo

ACCOUNT = "acct_chain"


def _record(n: int) -> AuditRecord:
    return AuditRecord(
        account_id=ACCOUNT,
        actor_type=ActorType.API_KEY,
        actor_id="key_1",
        action="payment.create",
        resource_id=f"pay_{n}",
        outcome=201,
        details={"amount": 1000 + n, "ok": True, "none": None},
        ip="127.0.0.1",
        request_id=f"req_{n}",
    )


def test_the_hash_inputs_are_those_stored_chains_were_written_with() -> None:
    at = datetime(2026, 12, 2, 8, 30, 1, 123456, tzinfo=timezone(timedelta(hours=1)))
    entry = AuditEntry(
        id="aud_x",
        account_id="acct_1",
        seq=3,
        at=at.astimezone(UTC),
        actor_type="api_key",
        actor_id="key_1",
        ip="127.0.0.1",
        request_id="req_1",
        action="payment.create",
        resource_id="pay_1",
        outcome=201,
        details={"amount": 1000, "email": "a***@example.com", "ok": True, "none": None},
    )

    assert (
        audit_repo.entry_hash("ab" * 32, entry)
        == "01ab5004838908ad3971dda1c5bfa8641672fb037a20006cf44aa0003c0ecfb9"
    )


async def test_entries_of_both_paths_form_one_chain_that_verifies(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    written = []
    for n in range(4):
        add = audit_repo.append_new if n % 2 else audit_repo.append
        async with sessions() as session, session.begin():
            written.append(
                await add(session, _record(n), entry_id=random_id("aud_"), at=datetime.now(UTC))
            )
    async with sessions() as session, session.begin():
        again = await audit_repo.append(
            session, _record(9), entry_id=written[1].id, at=datetime.now(UTC)
        )

    async with sessions() as session:
        stored = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        head = await session.get(AuditHead, ACCOUNT)
        check = await audit_repo.verify(session, ACCOUNT)
    assert check.ok and check.checked == 4
    assert [e.seq for e in written] == [1, 2, 3, 4] and again.resource_id == "pay_1"
    assert [(e.id, e.prev_hash, e.hash) for e in stored] == [
        (e.id, e.prev_hash, e.hash) for e in written
    ]
    assert stored[0].prev_hash == audit_repo.GENESIS
    assert head is not None and (head.seq, head.hash) == (4, stored[-1].hash)


async def test_a_reused_id_is_refused_and_leaves_the_chain_as_it_was(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        first = await audit_repo.append_new(
            session, _record(1), entry_id=random_id("aud_"), at=datetime.now(UTC)
        )
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            await audit_repo.append_new(
                session, _record(2), entry_id=first.id, at=datetime.now(UTC)
            )

    async with sessions() as session:
        check = await audit_repo.verify(session, ACCOUNT)
        head = await session.get(AuditHead, ACCOUNT)
    assert check.ok and check.checked == 1
    assert head is not None and (head.seq, head.hash) == (1, first.hash)
