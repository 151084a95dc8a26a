"""PayPal transmissions: each transmission id bound to the one event it first carried."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import PaypalTransmission
from db.repositories.writes import insert_once


async def bind_transmission(
    session: AsyncSession, transmission_id: str, event_id: str, received_at: datetime
) -> str:
    """The event id ``transmission_id`` is bound to: ``event_id`` if this is its first use (or a
    redelivery of the same event), the earlier event's otherwise."""
    await insert_once(
        session,
        PaypalTransmission,
        {"transmission_id": transmission_id, "event_id": event_id, "received_at": received_at},
    )
    bound = await session.scalar(
        select(PaypalTransmission.event_id).where(
            PaypalTransmission.transmission_id == transmission_id
        )
    )
    assert bound is not None, "inserted above, or by the writer that won the race"
    return bound
