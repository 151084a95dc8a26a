"""The audit log: who changed what, chained by hash so that a changed or removed entry shows.

Where the API writes the change itself, the entry goes into the same transaction
(``append``); a decision taken in a workflow is recorded by the ``record_audit`` activity;
anything else records its own short transaction (``record``). Details carry IDs, amounts, codes
and masked emails only: an erasure must not leave the address behind in an append-only log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.audit import AuditRecord
from db.models import AuditEntry
from db.repositories import audit as audit_repo
from services.actor import current_actor
from services.database import Database
from services.idempotency import random_id


def mask_email(address: str | None) -> str | None:
    """``alice@example.com`` → ``a***@example.com``: enough to recognize, not to reuse."""
    if not address:
        return address
    local, at, domain = address.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


async def append(session: AsyncSession, record: AuditRecord) -> str:
    """Chain the entry in the caller's transaction; it commits or rolls back with the change.
    The request being served (if any) is marked recorded: the API writes no second entry."""
    entry = await audit_repo.append_new(
        session, record, entry_id=random_id("aud_"), at=datetime.now(UTC)
    )
    actor = current_actor()
    if actor is not None:
        actor.recorded = True
    return entry.id


async def record(database: Database, record: AuditRecord) -> str:
    """Chain the entry in a transaction of its own. The request being served (if any) is marked
    committed: even if it then fails, the API writes no second entry (a refused review
    decision is recorded here with its outcome before the error is raised)."""
    async with database.writing() as session:
        entry_id = await append(session, record)
    actor = current_actor()
    if actor is not None:
        actor.committed = True
    return entry_id


async def list_entries(
    database: Database,
    account_id: str,
    *,
    resource_id: str | None,
    action: str | None,
    limit: int,
    starting_after: str | None,
) -> tuple[list[AuditEntry], bool]:
    async with database.reading() as session:
        return await audit_repo.page(
            session,
            account_id,
            resource_id=resource_id,
            action=action,
            limit=limit,
            starting_after=starting_after,
        )


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    first_bad_id: str | None


async def verify(database: Database, account_id: str) -> Verification:
    """Recompute the account's whole chain from its first entry."""
    async with database.reading() as session:
        check = await audit_repo.verify(session, account_id)
    return Verification(ok=check.ok, checked=check.checked, first_bad_id=check.first_bad_id)
