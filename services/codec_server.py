"""Temporal's codec-server protocol for the Web UI and the CLI: ``/codec/decode`` opens payloads
with the keyring (``services.payload_codec``), ``/codec/encode`` seals them (the UI encodes what
an operator types, e.g. a signal's input)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format
from temporalio.converter import PayloadCodec

from services import errors
from services.payload_codec import PayloadDecryptionError, decode_json, encode_json
from services.runtime import Runtime


async def decode(runtime: Runtime, body: Mapping[str, Any]) -> dict[str, Any]:
    """The payloads decrypted; one this keyring cannot open refuses the whole request."""
    try:
        return await decode_json(_codec(runtime), body)
    except PayloadDecryptionError as error:
        raise errors.BadRequest(str(error)) from None
    except json_format.ParseError as error:
        raise errors.ValidationFailed(f"Not Temporal payloads: {error}") from None


async def encode(runtime: Runtime, body: Mapping[str, Any]) -> dict[str, Any]:
    """The payloads encrypted under the current key id."""
    try:
        return await encode_json(_codec(runtime), body)
    except json_format.ParseError as error:
        raise errors.ValidationFailed(f"Not Temporal payloads: {error}") from None


def _codec(runtime: Runtime) -> PayloadCodec:
    codec = runtime.client.data_converter.payload_codec
    if codec is None:
        raise errors.ServiceUnavailable("This API's Temporal client encrypts no payloads.")
    return codec
