"""Random resource IDs: a type prefix and 24 characters of base32 (120 random bits).

Here, under ``db``, because both sides that create rows need them: services (the API) and
activities (the worker), which may not import each other.
"""

from __future__ import annotations

import base64
import secrets


def random_id(prefix: str) -> str:
    return prefix + base64.b32encode(secrets.token_bytes(15)).decode().lower()
