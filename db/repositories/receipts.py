"""Receipt requests: the payments whose customer is mailed a receipt once they succeed.

Functions flush but never commit: the caller owns the transaction (one per request or activity).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ReceiptRequest
from db.repositories.writes import insert_once


async def request_receipt(session: AsyncSession, payment_id: str, requested_at: datetime) -> None:
    """Ask for the payment's receipt mail; asking again changes nothing."""
    await insert_once(
        session, ReceiptRequest, {"payment_id": payment_id, "requested_at": requested_at}
    )


async def receipt_requested(session: AsyncSession, payment_id: str) -> bool:
    found = await session.scalar(
        select(ReceiptRequest.payment_id).where(ReceiptRequest.payment_id == payment_id)
    )
    return found is not None
