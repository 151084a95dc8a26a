"""Payment links: every query of the domain. Functions flush, never commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import PaymentLink
from db.repositories.paging import get_owned
from db.repositories.writes import insert_once, unsaved_values, update_rows


async def add_link(session: AsyncSession, link: PaymentLink) -> bool:
    """Insert once by id (derived from the caller's Idempotency-Key): False when it existed."""
    return await insert_once(session, PaymentLink, unsaved_values(link))


async def get_link(
    session: AsyncSession, link_id: str, account_id: str | None = None
) -> PaymentLink | None:
    return await get_owned(session, PaymentLink, link_id, account_id)


async def find_by_token_hash(session: AsyncSession, token_hash: str) -> PaymentLink | None:
    """One indexed equality lookup, whatever the token: an unknown token and a near miss of a
    real one cost the same, and no string comparison of secrets happens in Python."""
    link: PaymentLink | None = await session.scalar(
        select(PaymentLink).where(PaymentLink.token_hash == token_hash)
    )
    return link


async def revoke(session: AsyncSession, link_id: str, at: datetime) -> None:
    """Revoking twice keeps the first time."""
    await update_rows(
        session,
        update(PaymentLink)
        .where(PaymentLink.id == link_id, PaymentLink.revoked_at.is_(None))
        .values(revoked_at=at),
    )


async def start_attempt(
    session: AsyncSession, link_id: str, attempt: int, payment_id: str | None
) -> None:
    """Move to attempt ``attempt`` unless a racing request already did (the payment id derives
    from the attempt, so both racers land on the same payment). An invoice's link records no
    payment id: the invoice holds its payments."""
    await update_rows(
        session,
        update(PaymentLink)
        .where(PaymentLink.id == link_id, PaymentLink.attempt < attempt)
        .values(attempt=attempt, payment_id=payment_id),
    )


async def mark_paid(session: AsyncSession, link_id: str, at: datetime) -> None:
    await update_rows(
        session,
        update(PaymentLink)
        .where(PaymentLink.id == link_id, PaymentLink.paid_at.is_(None))
        .values(paid_at=at),
    )
