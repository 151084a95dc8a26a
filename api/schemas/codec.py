"""Temporal's codec-server protocol on the wire: payloads in the protobuf JSON form Temporal's
Web UI and CLI send (base64 ``data``, base64 metadata values)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CodecPayload(BaseModel):
    metadata: dict[str, str] = Field(default_factory=dict)
    """Metadata names to base64 values: ``encoding`` says how ``data`` is written."""
    data: str = ""
    """Base64 of the payload's bytes."""


class CodecPayloads(BaseModel):
    payloads: list[CodecPayload]
