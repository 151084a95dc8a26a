"""What webhook verification remembers: the PayPal transmissions already accepted.

PayPal's signature covers only a CRC32 of the body, so a captured delivery's headers could carry
another body; each transmission id is therefore accepted once (``services.provider_webhooks``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class PaypalTransmission(Base):
    __tablename__ = "paypal_transmissions"

    transmission_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128))
    """The event the transmission carried: a redelivery of the same event under the same
    transmission id is the provider retrying, any other body under it is a replay."""
    received_at: Mapped[datetime]
