"""The audit log: append an entry to its account's hash chain, page through it, verify it.

Each entry's ``hash`` is SHA-256 over the previous entry's hash and the entry's own canonical
JSON, so changing, removing or reordering any stored entry breaks every hash after it. The
account's ``audit_heads`` row is written in the very statement that reads the previous hash: on
PostgreSQL the row lock, on SQLite the write lock, makes concurrent appends take turns, so no two
entries ever chain onto the same predecessor.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.audit import AuditRecord
from db.models import AuditEntry, AuditHead
from db.repositories.writes import dialect_of

GENESIS = "0" * 64
"""The ``prev_hash`` of an account's first entry."""

VERIFY_BATCH = 1000


_HASHED = (
    "id",
    "account_id",
    "seq",
    "at",
    "actor_type",
    "actor_id",
    "ip",
    "request_id",
    "action",
    "resource_id",
    "outcome",
    "details",
)


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    """The hash an entry must carry: over the previous hash and every field but its own hash."""
    return _chain_hash(prev_hash, {name: getattr(entry, name) for name in _HASHED})


def _chain_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """``fields`` are exactly the ``_HASHED`` ones: what an entry was chained with when written
    is what ``verify`` recomputes from the stored row."""
    canonical = json.dumps(
        {**fields, "at": fields["at"].isoformat()},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(f"{prev_hash}:{canonical}".encode()).hexdigest()


async def append(
    session: AsyncSession, record: AuditRecord, *, entry_id: str, at: datetime
) -> AuditEntry:
    """Chain ``record`` onto its account's log in the caller's transaction (not committed): if
    the caller's change rolls back, so does its entry. An ``entry_id`` already in the log (a
    retried activity's, derived from the activity) returns that entry unchanged."""
    existing = await session.get(AuditEntry, entry_id)
    if existing is not None:
        return existing
    return await append_new(session, record, entry_id=entry_id, at=at)


async def append_new(
    session: AsyncSession, record: AuditRecord, *, entry_id: str, at: datetime
) -> AuditEntry:
    """``append`` for an ``entry_id`` nobody can have used (a random one): no lookup first, the
    primary key refuses a duplicate anyway. Three statements, each built once: the head taken
    (inserted at position 1, or moved one on; the row stays locked until the transaction ends)
    and read in one upsert, the entry inserted, the head's hash set."""
    head = (
        await session.execute(_take_head(dialect_of(session)), {"account_id": record.account_id})
    ).one()
    row: dict[str, Any] = {
        "id": entry_id,
        "account_id": record.account_id,
        "seq": head.seq,
        "at": at.astimezone(UTC),
        "actor_type": record.actor_type.value,
        "actor_id": record.actor_id,
        "ip": record.ip,
        "request_id": record.request_id,
        "action": record.action,
        "resource_id": record.resource_id,
        "outcome": record.outcome,
        "details": dict(record.details),
    }
    digest = _chain_hash(head.hash, row)
    row.update(prev_hash=head.hash, hash=digest)
    await session.execute(_INSERT_ENTRY, row)
    await session.execute(
        _SET_HEAD_HASH, {"head_account": row["account_id"], "head_hash": row["hash"]}
    )
    return AuditEntry(**row)


_DIALECTS = {"postgresql": postgresql, "sqlite": sqlite}
_ENTRIES = cast(Table, AuditEntry.__table__)
_HEADS = cast(Table, AuditHead.__table__)


@functools.cache
def _take_head(dialect_name: str) -> Any:
    """The account's next position and the previous entry's hash, in one statement. On
    PostgreSQL a racing append waits on the row (or on the first append's uninserted row) and
    then moves the committed head on; on SQLite the statement takes the write lock. The hash it
    returns is the one the update left unchanged: the last entry's, or the genesis one."""
    statement = _DIALECTS[dialect_name].insert(_HEADS).values(seq=1, hash=GENESIS)
    return statement.on_conflict_do_update(
        index_elements=[_HEADS.c.account_id], set_={"seq": _HEADS.c.seq + 1}
    ).returning(_HEADS.c.seq, _HEADS.c.hash)


_INSERT_ENTRY = insert(_ENTRIES)
_SET_HEAD_HASH = (
    update(_HEADS)
    .where(_HEADS.c.account_id == bindparam("head_account"))
    .values(hash=bindparam("head_hash"))
)


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
