"""Resource IDs derived from the caller's Idempotency-Key, and request fingerprints.

Deriving the payment ID from (owner, key) is what makes a repeated ``POST /v1/payments`` land on
the same workflow: Temporal itself refuses a second workflow with that ID.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from db.ids import random_id

__all__ = ["derive_id", "hash_api_key", "random_id", "request_hash"]

_ID_LENGTH = 24


def derive_id(prefix: str, *parts: str) -> str:
    """A stable, opaque ID for the given parts (unit-separator joined, so parts cannot blur)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return prefix + base64.b32encode(digest).decode().lower()[:_ID_LENGTH]


def request_hash(payload: Mapping[str, Any]) -> str:
    """Fingerprint of a normalised request body: same meaning, same hash."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def hash_api_key(key: str) -> str:
    """API keys are random and long, so one SHA-256 is enough to store them unreadably."""
    return hashlib.sha256(key.encode()).hexdigest()
