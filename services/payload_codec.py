"""Every Temporal payload Durapay writes, encrypted with AES-256-GCM before it leaves the process.

Temporal keeps workflow and activity inputs, results, signals, updates, queries, memos and
summaries in its database and shows them in the Web UI; encrypted here, they are ciphertext to
anyone reading Temporal (an operator, a backup, the UI) without a key. The worker, the API's
client, the tests and the benchmarks build their client with ``data_converter(settings)``; the
API's codec-server routes (``/codec/encode``, ``/codec/decode``) let the Web UI show them
decrypted to whoever may read them.

Each payload names the key id that encrypted it, so keys rotate: a new id is added to
``DURAPAY_PAYLOAD_KEYS`` and named in ``DURAPAY_PAYLOAD_KEY_ID``, and older ids keep decrypting
the histories written with them. A payload that is not encrypted (histories recorded before
encryption) is passed through unchanged, so those still replay.
"""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import DataConverter, PayloadCodec

from settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32


class PayloadDecryptionError(ValueError):
    """A payload this keyring cannot open: an unknown key id, or ciphertext that was altered."""


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over the whole serialized payload (data and metadata), keyed by id.

    The key id is also the associated data, so a ciphertext moved under another id's label fails
    authentication instead of decrypting under the wrong key."""

    def __init__(self, keys: Mapping[str, bytes], current_key_id: str) -> None:
        if current_key_id not in keys:
            raise ValueError(f"the encrypting key id {current_key_id!r} is not among the keys")
        for key_id, key in keys.items():
            if len(key) != KEY_BYTES:
                raise ValueError(f"payload key {key_id!r} must be {KEY_BYTES} bytes (AES-256)")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._current_key_id = current_key_id

    @property
    def current_key_id(self) -> str:
        return self._current_key_id

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self._current_key_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadDecryptionError(
                f"payload encrypted with key id {key_id!r}, which DURAPAY_PAYLOAD_KEYS does not "
                f"hold (it holds {', '.join(sorted(self._ciphers))})"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, key_id.encode())
        except (InvalidTag, ValueError):  # ValueError: too short to hold a nonce
            raise PayloadDecryptionError(
                f"payload under key id {key_id!r} failed authentication: altered or truncated"
            ) from None
        return Payload.FromString(plain)


def decode_key(encoded: str) -> bytes:
    """A key as ``DURAPAY_PAYLOAD_KEYS`` holds it: standard base64 of 32 bytes."""
    return base64.b64decode(encoded, validate=True)


def codec_from_settings(settings: Settings) -> EncryptionCodec:
    keys = {
        key_id: decode_key(key.get_secret_value()) for key_id, key in settings.payload_keys.items()
    }
    return EncryptionCodec(keys, settings.payload_key_id)


def data_converter(settings: Settings) -> DataConverter:
    """Temporal's default JSON converter with every payload encrypted by the settings' keys."""
    return dataclasses.replace(DataConverter.default, payload_codec=codec_from_settings(settings))


async def encode_json(codec: PayloadCodec, body: Mapping[str, Any]) -> dict[str, Any]:
    """The codec-server protocol's ``/encode``: ``{"payloads": [...]}`` in Temporal's JSON form
    (base64 ``data`` and metadata values), the same shape out."""
    payloads = _payloads(body)
    return _as_json(await codec.encode(payloads.payloads))


async def decode_json(codec: PayloadCodec, body: Mapping[str, Any]) -> dict[str, Any]:
    """The codec-server protocol's ``/decode`` (see ``encode_json``)."""
    payloads = _payloads(body)
    return _as_json(await codec.decode(payloads.payloads))


def _payloads(body: Mapping[str, Any]) -> Payloads:
    return json_format.ParseDict(dict(body), Payloads(), ignore_unknown_fields=True)


def _as_json(payloads: Sequence[Payload]) -> dict[str, Any]:
    return {"payloads": [json_format.MessageToDict(payload) for payload in payloads]}
