"""``/health``'s report on the wire, the same shape with 200 and 503."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    checks: dict[str, str] = Field(
        description="Each dependency by name: `ok`, `down`, `unknown` or `circuit_open until …`.",
        examples=[{"database": "ok", "temporal": "ok", "stripe": "ok", "paypal": "ok"}],
    )
