"""The payload codec: what it seals only the keyring opens, old key ids keep opening after a
rotation, and anything it cannot open fails loudly instead of reaching a workflow as garbage."""

from __future__ import annotations

import base64
import os

import pytest
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload

from services.payload_codec import (
    ENCODING,
    KEY_ID_METADATA,
    EncryptionCodec,
    PayloadDecryptionError,
    codec_from_settings,
    decode_json,
    encode_json,
)
from settings import DEV_PAYLOAD_KEY, Environment, Settings
from tests.support.production import production

SECRET = b'{"email":"ada@example.com","name":"Ada Lovelace"}'


def json_payload(data: bytes = SECRET) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


async def test_a_round_trip_gives_back_the_payload_and_hides_it_in_between() -> None:
    codec = EncryptionCodec({"k1": os.urandom(32)}, "k1")
    [sealed] = await codec.encode([json_payload()])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID_METADATA] == b"k1"
    assert b"ada@example.com" not in sealed.SerializeToString()
    assert await codec.decode([sealed]) == [json_payload()]


async def test_the_same_payload_twice_gives_two_ciphertexts() -> None:
    codec = EncryptionCodec({"k1": os.urandom(32)}, "k1")
    first, second = await codec.encode([json_payload(), json_payload()])
    assert first.data != second.data


async def test_after_a_rotation_the_old_key_id_still_decrypts() -> None:
    old, new = os.urandom(32), os.urandom(32)
    [sealed_before] = await EncryptionCodec({"k1": old}, "k1").encode([json_payload()])
    rotated = EncryptionCodec({"k1": old, "k2": new}, "k2")
    [sealed_after] = await rotated.encode([json_payload()])
    assert sealed_after.metadata[KEY_ID_METADATA] == b"k2"
    assert await rotated.decode([sealed_before, sealed_after]) == [json_payload()] * 2


async def test_an_unknown_key_id_fails_naming_it() -> None:
    [sealed] = await EncryptionCodec({"gone": os.urandom(32)}, "gone").encode([json_payload()])
    codec = EncryptionCodec({"k1": os.urandom(32)}, "k1")
    with pytest.raises(PayloadDecryptionError, match=r"key id 'gone'.*holds k1"):
        await codec.decode([sealed])


async def test_a_tampered_ciphertext_fails_authentication() -> None:
    codec = EncryptionCodec({"k1": os.urandom(32)}, "k1")
    [sealed] = await codec.encode([json_payload()])
    flipped = bytearray(sealed.data)
    flipped[-1] ^= 1
    tampered = Payload(metadata=dict(sealed.metadata), data=bytes(flipped))
    with pytest.raises(PayloadDecryptionError, match="failed authentication"):
        await codec.decode([tampered])


async def test_a_truncated_ciphertext_fails_authentication() -> None:
    codec = EncryptionCodec({"k1": os.urandom(32)}, "k1")
    [sealed] = await codec.encode([json_payload()])
    truncated = Payload(metadata=dict(sealed.metadata), data=sealed.data[:5])
    with pytest.raises(PayloadDecryptionError, match="altered or truncated"):
        await codec.decode([truncated])


async def test_a_ciphertext_relabelled_with_another_key_id_fails() -> None:
    key = os.urandom(32)
    codec = EncryptionCodec({"k1": key, "k2": key}, "k1")
    [sealed] = await codec.encode([json_payload()])
    relabelled = Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: b"k2"}, data=sealed.data)
    with pytest.raises(PayloadDecryptionError, match="failed authentication"):
        await codec.decode([relabelled])


async def test_a_payload_written_before_encryption_passes_through() -> None:
    codec = EncryptionCodec({"k1": os.urandom(32)}, "k1")
    assert await codec.decode([json_payload()]) == [json_payload()]


def test_a_key_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        EncryptionCodec({"short": os.urandom(16)}, "short")


def test_the_encrypting_key_id_must_be_a_known_key() -> None:
    with pytest.raises(ValidationError, match="DURAPAY_PAYLOAD_KEY_ID=k9"):
        Settings(environment=Environment.TEST, payload_key_id="k9")


def test_production_refuses_the_dev_key_even_as_an_old_one() -> None:
    real = production()
    assert codec_from_settings(real).current_key_id == "prod-1"
    with pytest.raises(ValidationError, match="dev secrets: DURAPAY_PAYLOAD_KEYS"):
        production(payload_keys={"dev-1": DEV_PAYLOAD_KEY}, payload_key_id="dev-1")
    with pytest.raises(ValidationError, match="dev secrets: DURAPAY_PAYLOAD_KEYS"):
        production(payload_keys={**real.payload_keys, "dev-1": DEV_PAYLOAD_KEY})


def test_production_refuses_a_keyless_codec_for_the_ui() -> None:
    with pytest.raises(ValidationError, match="DURAPAY_CODEC_TRUST_UI_ORIGIN=true"):
        production(codec_trust_ui_origin=True)


def test_keys_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv(
        "DURAPAY_PAYLOAD_KEYS", f'{{"2026-12": "{key}", "dev-1": "{DEV_PAYLOAD_KEY}"}}'
    )
    monkeypatch.setenv("DURAPAY_PAYLOAD_KEY_ID", "2026-12")
    codec = codec_from_settings(Settings(environment=Environment.DEV))
    assert codec.current_key_id == "2026-12"


async def test_the_codec_server_protocol_round_trips_temporal_json() -> None:
    codec = EncryptionCodec({"k1": os.urandom(32)}, "k1")
    plain = {
        "payloads": [
            {
                "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
                "data": base64.b64encode(SECRET).decode(),
            }
        ]
    }
    sealed = await encode_json(codec, plain)
    [only] = sealed["payloads"]
    assert base64.b64decode(only["metadata"]["encoding"]) == ENCODING
    assert await decode_json(codec, sealed) == plain
