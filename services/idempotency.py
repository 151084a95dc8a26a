"""Resource IDs derived from the caller's Idempotency-Key, and request fingerprints.

Deriving the payment ID from (owner, key) is what makes a repeated ``POST /v1/payments`` land on
the same workflow: Temporal itself refuses a second workflow with that ID.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from db.ids import derive_id, random_id

__all__ = ["derive_id", "hash_api_key", "random_id", "request_hash"]


def request_hash(payload: Mapping[str, Any]) -> str:
    """Fingerprint of a normalised request body: same meaning, same hash."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def hash_api_key(key: str, hashing_key: str) -> str:
    """HMAC-SHA256 of the key under the server's secret (``DURAPAY_API_KEY_SECRET``): API keys are
    random and long, so one keyed hash stores them unreadably, and a leaked table cannot even be
    checked against a guessed or leaked key without the secret, which lives elsewhere."""
    return hmac.new(hashing_key.encode(), key.encode(), hashlib.sha256).hexdigest()


def legacy_hash_api_key(key: str) -> str:
    """The plain SHA-256 keys were stored under before migration 0013 (``services.api_keys``
    moves each such key to ``hash_api_key`` on its first use)."""
    return hashlib.sha256(key.encode()).hexdigest()
