"""Secrets the server must use again, kept encrypted at rest.

A webhook endpoint's signing secret cannot be stored as a one-way hash like an API key: every
delivery signs with it. It is sealed with AES-256-GCM under a server key (a setting that
production refuses to leave at its dev value), bound to the row it belongs to, so a database dump
alone reveals no secret and a sealed value copied onto another row does not open.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class Sealer:
    """Seals and opens short secrets with one AES-256-GCM key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the sealing key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)

    @classmethod
    def from_base64(cls, encoded: str) -> Sealer:
        return cls(base64.b64decode(encoded))

    def seal(self, secret: str, *, owner: str) -> str:
        """``secret`` encrypted for the row ``owner`` (its id is the associated data)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode(), owner.encode())
        return base64.b64encode(nonce + sealed).decode()

    def open(self, sealed: str, *, owner: str) -> str:
        raw = base64.b64decode(sealed)
        return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], owner.encode()).decode()
