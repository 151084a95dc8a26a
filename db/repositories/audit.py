"""The audit log: append an entry to its account's hash chain, page through it, verify it.

Each entry's ``hash`` is SHA-256 over the previous entry's hash and the entry's own canonical
JSON, so changing, removing or reordering any stored entry breaks every hash after it. The
account's ``audit_heads`` row is updated before the previous hash is read: on PostgreSQL the
row lock, on SQLite the write lock, makes concurrent appends take turns, so no two entries ever
chain onto the same predecessor.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.audit import AuditRecord
from db.models import AuditEntry, AuditHead
from db.repositories.writes import insert_once

GENESIS = "0" * 64
"""The ``prev_hash`` of an account's first entry."""

VERIFY_BATCH = 1000


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    """The hash an entry must carry: over the previous hash and every field but its own hash."""
    fields = {
        "id": entry.id,
        "account_id": entry.account_id,
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor_type": entry.actor_type,
        "actor_id": entry.actor_id,
        "ip": entry.ip,
        "request_id": entry.request_id,
        "action": entry.action,
        "resource_id": entry.resource_id,
        "outcome": entry.outcome,
        "details": entry.details,
    }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{prev_hash}:{canonical}".encode()).hexdigest()


async def append(
    session: AsyncSession, record: AuditRecord, *, entry_id: str, at: datetime
) -> AuditEntry:
    """Chain ``record`` onto its account's log in the caller's transaction (flushed, not
    committed): if the caller's change rolls back, so does its entry. An ``entry_id`` already
    in the log (a retried activity's) returns that entry unchanged."""
    existing = await session.get(AuditEntry, entry_id)
    if existing is not None:
        return existing
    await insert_once(
        session, AuditHead, {"account_id": record.account_id, "seq": 0, "hash": GENESIS}
    )
    await session.execute(
        update(AuditHead)
        .where(AuditHead.account_id == record.account_id)
        .values(seq=AuditHead.seq + 1)
        .execution_options(synchronize_session=False)
    )
    head = (
        await session.execute(
            select(AuditHead.seq, AuditHead.hash).where(AuditHead.account_id == record.account_id)
        )
    ).one()
    entry = AuditEntry(
        id=entry_id,
        account_id=record.account_id,
        seq=head.seq,
        at=at.astimezone(UTC),
        actor_type=record.actor_type.value,
        actor_id=record.actor_id,
        ip=record.ip,
        request_id=record.request_id,
        action=record.action,
        resource_id=record.resource_id,
        outcome=record.outcome,
        details=dict(record.details),
        prev_hash=head.hash,
    )
    entry.hash = entry_hash(head.hash, entry)
    session.add(entry)
    await session.execute(
        update(AuditHead)
        .where(AuditHead.account_id == record.account_id)
        .values(hash=entry.hash)
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    return entry


async def page(
    session: AsyncSession,
    account_id: str,
    *,
    resource_id: str | None,
    action: str | None,
    limit: int,
    starting_after: str | None,
) -> tuple[list[AuditEntry], bool]:
    """Newest first by chain position; ``starting_after`` is the last id of the previous page."""
    query = select(AuditEntry).where(AuditEntry.account_id == account_id)
    if resource_id is not None:
        query = query.where(AuditEntry.resource_id == resource_id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if starting_after is not None:
        cursor = await session.scalar(
            select(AuditEntry.seq).where(
                AuditEntry.account_id == account_id, AuditEntry.id == starting_after
            )
        )
        if cursor is None:
            return [], False
        query = query.where(AuditEntry.seq < cursor)
    rows = list(await session.scalars(query.order_by(AuditEntry.seq.desc()).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


@dataclass(frozen=True)
class ChainCheck:
    checked: int
    first_bad_id: str | None
    """The first entry whose position, link or hash is wrong; for a chain cut short at its end
    (the last entries deleted), the last entry that remains."""

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


async def verify(session: AsyncSession, account_id: str) -> ChainCheck:
    """Walk the account's chain in order, recomputing every hash, in batches."""
    head = await session.get(AuditHead, account_id)
    prev_hash, expected_seq, checked, last_id = GENESIS, 1, 0, None
    while True:
        batch = list(
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.account_id == account_id, AuditEntry.seq >= expected_seq)
                .order_by(AuditEntry.seq)
                .limit(VERIFY_BATCH)
            )
        )
        for entry in batch:
            intact = (
                entry.seq == expected_seq
                and entry.prev_hash == prev_hash
                and entry.hash == entry_hash(prev_hash, entry)
            )
            if not intact:
                return ChainCheck(checked=checked, first_bad_id=entry.id)
            prev_hash, expected_seq, checked, last_id = (
                entry.hash,
                expected_seq + 1,
                checked + 1,
                entry.id,
            )
        if len(batch) < VERIFY_BATCH:
            break
    if head is not None and (head.seq != checked or head.hash != prev_hash):
        return ChainCheck(checked=checked, first_bad_id=last_id or "(chain emptied)")
    return ChainCheck(checked=checked, first_bad_id=None)
