"""Resource IDs: a type prefix and 24 characters, random or derived from what names the resource.

Here, under ``db``, because both sides that create rows need them: services (the API) and
activities (the worker), which may not import each other.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

_LENGTH = 24


def random_id(prefix: str) -> str:
    """24 characters of base32: 120 random bits."""
    return prefix + base64.b32encode(secrets.token_bytes(15)).decode().lower()


def derive_id(prefix: str, *parts: str) -> str:
    """A stable, opaque ID for the given parts (unit-separator joined, so parts cannot blur):
    the same write retried, or the same request repeated, names the same row or workflow."""
    return prefix + base64.b32encode(_digest(parts)).decode().lower()[:_LENGTH]


def derive_hex_id(prefix: str, *parts: str) -> str:
    """``derive_id`` in hexadecimal: the IDs that ledger accounts, events and webhook attempts
    were first given, which stored rows keep, so these stay as they are."""
    return prefix + _digest(parts).hex()[:_LENGTH]


def _digest(parts: tuple[str, ...]) -> bytes:
    return hashlib.sha256("\x1f".join(parts).encode()).digest()
