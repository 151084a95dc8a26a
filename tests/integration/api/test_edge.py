"""The API's edge, in process on a migrated SQLite database: callers are known and counted before
anything reads their body, card numbers are refused however they are written, admin figures stay
within the caller's account, and every answer carries the security headers.

None of these routes reaches Temporal, so the app's client is a lazy one that never connects."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from db.models import ApiKey, Payment
from services import api_keys
from services.database import Database, connect
from services.errors import Unauthorized
from services.idempotency import legacy_hash_api_key
from settings import DEV_ADMIN_KEY, DEV_CLIENT_KEY
from tests.support.edge_api import Edge, bearer, running_edge
from tests.support.net import free_port

CARD = "4242424242424242"


@pytest.fixture
async def edge(tmp_path: Path) -> AsyncIterator[Edge]:
    async with running_edge(tmp_path) as started:
        yield started


async def test_a_burst_over_the_limit_is_refused_with_the_rate_limit_headers(
    tmp_path: Path,
) -> None:
    async with running_edge(tmp_path, rate_limit_api="5/minute") as edge:
        answers = [
            await edge.api.get("/v1/plans", headers=bearer(DEV_CLIENT_KEY)) for _ in range(7)
        ]
        assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
        assert [a.headers["RateLimit-Remaining"] for a in answers[:5]] == ["4", "3", "2", "1", "0"]
        refused = answers[-1]
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "rate_limited"
        assert refused.headers["RateLimit-Limit"] == "5"
        assert refused.headers["RateLimit-Remaining"] == "0"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.headers["Retry-After"] == refused.headers["RateLimit-Reset"]

        another_key = await edge.api.get("/v1/plans", headers=bearer(DEV_ADMIN_KEY))
        assert another_key.status_code == 200, "each key has a budget of its own"

        guesses = [
            (await edge.api.get("/v1/plans", headers=bearer(f"sk_guess_{n}"))).status_code
            for n in range(7)
        ]
        assert guesses == [401] * 5 + [429] * 2, "unknown keys are counted per IP"


async def test_public_payment_routes_are_counted_per_token(tmp_path: Path) -> None:
    async with running_edge(tmp_path, rate_limit_public_action="2/minute") as edge:
        token = uuid.uuid4().hex
        acting = [
            (await edge.api.post(f"/v1/public/payment/{token}/confirm")).status_code
            for _ in range(3)
        ]
        assert acting[2] == 429 and 429 not in acting[:2]
        elsewhere = await edge.api.post(f"/v1/public/payment/{uuid.uuid4().hex}/confirm")
        assert elsewhere.status_code != 429
        viewing = await edge.api.get(f"/v1/public/payment/{token}")
        assert viewing.status_code != 429, "viewing has a budget apart from acting"


async def test_an_anonymous_body_is_refused_before_it_is_read(edge: Edge) -> None:
    """A card number in it would be refused if it were read: 401 shows it never was."""
    for headers in ({}, bearer("sk_unknown")):
        answer = await edge.api.post("/v1/customers", json={"email": CARD}, headers=headers)
        assert answer.status_code == 401
        assert answer.json()["code"] == "unauthorized"


async def test_a_card_number_is_refused_however_it_is_written(edge: Edge) -> None:
    escaped = "".join(f"\\u{ord(digit):04x}" for digit in CARD)
    attempts = [
        ("POST", "/v1/customers", '{"email": "a@example.com", "name": "' + escaped + '"}'),
        ("POST", "/v1/customers", '{"email": "a@example.com", "metadata": {"' + escaped + '": 1}}'),
        ("GET", f"/v1/customers/{CARD}", None),
        ("GET", "/v1/customers/4242%204242%204242%204242", None),
        ("GET", f"/v1/customers?email={CARD}", None),
    ]
    for method, path, body in attempts:
        answer = await edge.api.request(
            method,
            path,
            content=body,
            headers={**bearer(DEV_CLIENT_KEY), "Content-Type": "application/json"},
        )
        assert answer.status_code == 422, (path, body, answer.text)
        assert answer.json()["code"] == "raw_card_data_forbidden"
        assert CARD not in answer.text and "4242 4242" not in answer.text


async def test_admin_figures_are_the_callers_account_only(edge: Edge) -> None:
    mine, theirs = f"acct_{uuid.uuid4().hex[:10]}", f"acct_{uuid.uuid4().hex[:10]}"
    async with connect(edge.settings.database_url) as database:
        await add_payment(database, mine, 1_000)
        await add_payment(database, theirs, 70_000)
        await add_payment(database, theirs, 5_000)
    my_key, their_key = await edge.issue(mine), await edge.issue(theirs)

    my_stats = (await edge.api.get("/v1/admin/stats", headers=bearer(my_key))).json()
    their_stats = (await edge.api.get("/v1/admin/stats", headers=bearer(their_key))).json()
    assert [(p["count"], p["amount"]) for p in my_stats["payments"]] == [(1, 1_000)]
    assert [(p["count"], p["amount"]) for p in their_stats["payments"]] == [(2, 75_000)]
    dunning = await edge.api.get("/v1/admin/dunning", headers=bearer(my_key))
    assert dunning.status_code == 200 and dunning.json()["open_cases"] == 0


async def test_every_answer_carries_the_security_headers(edge: Edge) -> None:
    for answer in (
        await edge.api.get("/v1/plans", headers=bearer(DEV_CLIENT_KEY)),
        await edge.api.get("/v1/plans"),
        await edge.api.get("/docs"),
    ):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert "Strict-Transport-Security" not in answer.headers, "plain HTTP in tests"
    plans = await edge.api.get("/v1/plans", headers=bearer(DEV_CLIENT_KEY))
    assert "default-src 'none'" in plans.headers["Content-Security-Policy"]
    docs = await edge.api.get("/docs")
    assert "default-src 'none'" not in docs.headers["Content-Security-Policy"], "its own policy"


async def test_keys_are_stored_under_the_servers_secret(tmp_path: Path) -> None:
    """The same table read with another secret (a leaked dump, checked offline) opens nothing;
    a key stored the old way (plain SHA-256) still works and is moved to the keyed hash."""
    async with running_edge(tmp_path, api_key_secret="first-secret") as edge:
        key = await edge.issue("acct_keyed", role="client")
        async with connect(edge.settings.database_url) as database:
            with pytest.raises(Unauthorized):
                await api_keys.authenticate(database, key, SecretStr("another-secret"))
            await store_the_old_way(database, "sk_legacy_key", "acct_legacy")
        assert (await edge.api.get("/v1/plans", headers=bearer(key))).status_code == 200
        legacy = await edge.api.get("/v1/plans", headers=bearer("sk_legacy_key"))
        assert legacy.status_code == 200
        async with connect(edge.settings.database_url) as database:
            principal = await api_keys.authenticate(
                database, "sk_legacy_key", SecretStr("first-secret")
            )
            assert principal.account_id == "acct_legacy"
            assert await hash_scheme(database, principal.key_id) == "hmac-sha256"


async def add_payment(database: Database, account_id: str, amount: int) -> None:
    now = datetime.now(UTC)
    async with database.writing() as session:
        session.add(
            Payment(
                id=f"pay_{uuid.uuid4().hex[:20]}",
                account_id=account_id,
                customer_id="cus_x",
                provider="stripe",
                status="succeeded",
                amount=amount,
                currency="USD",
                amount_capturable=0,
                amount_captured=amount,
                amount_refunded=0,
                capture_method="automatic",
                request_hash="0" * 64,
                version=1,
                created_at=now,
                updated_at=now,
            )
        )


async def store_the_old_way(database: Database, key: str, account_id: str) -> None:
    async with database.writing() as session:
        session.add(
            ApiKey(
                id=f"key_{uuid.uuid4().hex[:12]}",
                account_id=account_id,
                role="client",
                key_hash=legacy_hash_api_key(key),
                hash_scheme="sha256",
                name="before 0013",
                created_at=datetime.now(UTC),
            )
        )


async def hash_scheme(database: Database, key_id: str) -> str:
    async with database.reading() as session:
        row = await session.get(ApiKey, key_id)
        assert row is not None
        return row.hash_scheme


async def test_a_body_no_route_takes_is_never_read(edge: Edge) -> None:
    """Scanning a body costs the API; one no route would read is answered without it."""
    nowhere = await edge.api.post("/v1/nowhere", json={"note": CARD})
    assert nowhere.status_code == 404
    in_the_path = await edge.api.post(f"/v1/nowhere/{CARD}", json={})
    assert in_the_path.status_code == 422
    assert in_the_path.json()["code"] == "raw_card_data_forbidden"


async def test_an_unreachable_redis_lifts_the_limits_rather_than_stopping_requests(
    tmp_path: Path,
) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    async with running_edge(tmp_path, redis_url=closed, rate_limit_api="1/minute") as edge:
        answers = [
            (await edge.api.get("/v1/plans", headers=bearer(DEV_CLIENT_KEY))).status_code
            for _ in range(3)
        ]
    assert answers == [200, 200, 200]
