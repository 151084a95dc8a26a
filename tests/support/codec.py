"""The payload converter every test client and worker uses: Temporal's JSON with each payload
encrypted under the dev key, as the worker and the API encrypt them (``services.payload_codec``)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from services.payload_codec import ENCODING, data_converter
from settings import Environment, Settings

TEST_CONVERTER = data_converter(Settings(environment=Environment.TEST))
ENCRYPTED = ENCODING.decode()


def payloads_in(document: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Temporal payload in a history or description as JSON (the CLI's ``--output json``,
    ``WorkflowHistory.to_json()``): each object with ``metadata.encoding``, and where
    it is, Durapay's own only. Two kinds are plain by design and left out: search attributes,
    which the server must read to index (IDs, statuses, amounts: checked for personal data with
    the rest of the text), and the ``data`` of a local activity's marker, the SDK's bookkeeping
    (sequence number, attempt, activity type, time; its ``result`` is Durapay's, encrypted), and
    the ``patch-data`` of a ``workflow.patched`` marker, which the SDK writes itself (the patch's
    name, e.g. ``risk-assessment``)."""
    if isinstance(document, dict):
        metadata = document.get("metadata")
        if isinstance(metadata, dict) and "encoding" in metadata:
            yield path, document
            return
        for key, value in document.items():
            if key == "searchAttributes" or (
                key in ("data", "patch-data") and path.endswith("/details")
            ):
                continue
            yield from payloads_in(value, f"{path}/{key}")
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from payloads_in(value, f"{path}[{index}]")


def unencrypted(document: Any) -> list[str]:
    """Where a payload of Durapay's is anything but ``binary/encrypted``."""
    return [
        path
        for path, payload in payloads_in(document)
        if base64.b64decode(payload["metadata"]["encoding"]).decode() != ENCRYPTED
    ]
