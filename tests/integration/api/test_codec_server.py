"""The codec server as the Temporal Web UI and CLI call it: decrypted payloads for admin keys,
refused to client keys and to strangers, with CORS for the UI's origin on ``/codec/*`` only.

The API runs in process on a migrated SQLite database with the dev keys; its Temporal client is
never dialled (the codec needs only the client's converter)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from db.migrate import upgrade_to_head
from services.payload_codec import ENCODING
from settings import DEV_ADMIN_KEY, DEV_CLIENT_KEY, Environment, Settings
from tests.support.codec import TEST_CONVERTER
from tests.support.in_process_api import in_process_api

UI_ORIGIN = "http://127.0.0.1:8233"
CUSTOMER = b'{"customer_id":"cus_1","email":"ada@example.com"}'
ApiFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def codec_api(tmp_path: Path) -> ApiFactory:
    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        url = f"sqlite+aiosqlite:///{tmp_path / 'durapay.db'}"
        await upgrade_to_head(url)
        settings = Settings.model_validate(
            {"environment": Environment.TEST, "database_url": url, "data_dir": tmp_path} | overrides
        )
        client = await Client.connect("127.0.0.1:1", lazy=True, data_converter=TEST_CONVERTER)
        async with in_process_api(settings, client) as api:
            api.headers.pop("Authorization")
            yield api

    return start


async def sealed_body() -> dict[str, Any]:
    codec = TEST_CONVERTER.payload_codec
    assert codec is not None
    [sealed] = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=CUSTOMER)])
    return {"payloads": [wire(sealed)]}


def wire(payload: Payload) -> dict[str, Any]:
    return {
        "metadata": {k: base64.b64encode(v).decode() for k, v in payload.metadata.items()},
        "data": base64.b64encode(payload.data).decode(),
    }


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-Namespace": "default"}


async def test_an_admin_key_reads_a_payload_decrypted(codec_api: ApiFactory) -> None:
    async with codec_api() as api:
        answer = await api.post(
            "/codec/decode", json=await sealed_body(), headers=bearer(DEV_ADMIN_KEY)
        )
    assert answer.status_code == 200, answer.text
    [payload] = answer.json()["payloads"]
    assert base64.b64decode(payload["data"]) == CUSTOMER
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"json/plain"


async def test_an_admin_key_encodes_what_only_the_keyring_reads(codec_api: ApiFactory) -> None:
    plain = {"payloads": [wire(Payload(metadata={"encoding": b"json/plain"}, data=CUSTOMER))]}
    async with codec_api() as api:
        encoded = await api.post("/codec/encode", json=plain, headers=bearer(DEV_ADMIN_KEY))
        assert encoded.status_code == 200, encoded.text
        [payload] = encoded.json()["payloads"]
        assert base64.b64decode(payload["metadata"]["encoding"]) == ENCODING
        assert b"ada@example.com" not in base64.b64decode(payload["data"])
        decoded = await api.post(
            "/codec/decode", json=encoded.json(), headers=bearer(DEV_ADMIN_KEY)
        )
    assert decoded.json() == plain


async def test_a_client_key_is_refused(codec_api: ApiFactory) -> None:
    async with codec_api() as api:
        answer = await api.post(
            "/codec/decode", json=await sealed_body(), headers=bearer(DEV_CLIENT_KEY)
        )
    assert answer.status_code == 403
    assert answer.json()["code"] == "forbidden"
    assert "ada@example.com" not in answer.text


async def test_no_key_is_refused_even_from_the_ui_origin(codec_api: ApiFactory) -> None:
    async with codec_api() as api:
        answer = await api.post(
            "/codec/decode", json=await sealed_body(), headers={"Origin": UI_ORIGIN}
        )
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthorized"


async def test_the_dev_ui_reads_without_a_key_where_the_dev_stack_trusts_it(
    codec_api: ApiFactory,
) -> None:
    async with codec_api(codec_trust_ui_origin=True) as api:
        from_ui = await api.post(
            "/codec/decode", json=await sealed_body(), headers={"Origin": UI_ORIGIN}
        )
        from_elsewhere = await api.post(
            "/codec/decode", json=await sealed_body(), headers={"Origin": "https://evil.example"}
        )
        client_key_from_ui = await api.post(
            "/codec/decode",
            json=await sealed_body(),
            headers={"Origin": UI_ORIGIN, "Authorization": f"Bearer {DEV_CLIENT_KEY}"},
        )
    assert from_ui.status_code == 200
    assert from_ui.headers["access-control-allow-origin"] == UI_ORIGIN
    assert base64.b64decode(from_ui.json()["payloads"][0]["data"]) == CUSTOMER
    assert from_elsewhere.status_code == 401
    assert client_key_from_ui.status_code == 403


async def test_the_ui_origin_passes_the_cors_preflight_of_the_codec_only(
    codec_api: ApiFactory,
) -> None:
    preflight = {
        "Origin": UI_ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    async with codec_api() as api:
        codec = await api.options("/codec/decode", headers=preflight)
        stranger = await api.options(
            "/codec/decode", headers=preflight | {"Origin": "https://evil.example"}
        )
        payments = await api.options("/v1/payments", headers=preflight)
    assert codec.status_code == 200
    assert codec.headers["access-control-allow-origin"] == UI_ORIGIN
    assert codec.headers["access-control-allow-credentials"] == "true"
    assert "x-namespace" in codec.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in stranger.headers
    assert "access-control-allow-origin" not in payments.headers


async def test_a_payload_under_an_unknown_key_id_is_a_clear_400(codec_api: ApiFactory) -> None:
    body = await sealed_body()
    body["payloads"][0]["metadata"]["encryption-key-id"] = base64.b64encode(b"retired").decode()
    async with codec_api() as api:
        answer = await api.post("/codec/decode", json=body, headers=bearer(DEV_ADMIN_KEY))
    assert answer.status_code == 400
    assert "'retired'" in answer.json()["detail"]
