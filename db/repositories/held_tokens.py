"""Card tokens held for their save-card workflow (``db.models.held_tokens``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models.held_tokens import HeldPaymentMethodToken
from db.repositories.writes import insert_once, update_rows


async def hold(session: AsyncSession, payment_method_id: str, token: str, at: datetime) -> None:
    """Hold ``token`` for the method. A row already there stays as it is: the method's id is
    derived from the token, so it holds the same token, and a concurrent save of it may already
    have written the provider's reference, which the workflow both joined is about to record."""
    await insert_once(
        session,
        HeldPaymentMethodToken,
        {"payment_method_id": payment_method_id, "token": token, "reference": None, "held_at": at},
    )


async def get(session: AsyncSession, payment_method_id: str) -> HeldPaymentMethodToken | None:
    return await session.get(HeldPaymentMethodToken, payment_method_id)


async def set_reference(session: AsyncSession, payment_method_id: str, reference: str) -> None:
    await update_rows(
        session,
        update(HeldPaymentMethodToken)
        .where(HeldPaymentMethodToken.payment_method_id == payment_method_id)
        .values(reference=reference),
    )


async def release(session: AsyncSession, payment_method_id: str) -> None:
    await session.execute(
        delete(HeldPaymentMethodToken).where(
            HeldPaymentMethodToken.payment_method_id == payment_method_id
        )
    )
