"""The audit trail as an operator reads it: every mutating request leaves one entry naming who
(key, IP, request id), what (action, resource), and how it ended, with masked emails and no
secret; the operator's command leaves its own; the chain verifies until a row is changed in the
database, and then ``verify`` names that row."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts

from api.audit import MUTATING, UNCHANGING, action_of
from api.main import create_app
from settings import DEV_ADMIN_KEY, DEV_CLIENT_KEY, Environment, Settings
from tests.support.edge_api import Edge, bearer, running_edge

DURAPAY = Path(sys.executable).with_name("durapay")
EMAIL = "alice.liddell@example.com"


@pytest.fixture
async def edge(tmp_path: Path) -> AsyncIterator[Edge]:
    async with running_edge(tmp_path) as started:
        yield started


async def audit_log(edge: Edge, count: int | None = None, **query: str) -> list[dict[str, Any]]:
    """The entries, newest first; with ``count``, once that many are written (an entry that
    follows its answer is written in a task of its own, a moment later)."""
    for _ in range(100):
        answer = await edge.api.get(
            "/v1/admin/audit", params={"limit": "100", **query}, headers=bearer(DEV_ADMIN_KEY)
        )
        assert answer.status_code == 200, answer.text
        entries: list[dict[str, Any]] = answer.json()["data"]
        if count is None or len(entries) >= count:
            return entries
        await asyncio.sleep(0.1)
    raise AssertionError(f"{len(entries)} entries, not {count}")


def by_action(entries: list[dict[str, Any]], action: str, outcome: int) -> dict[str, Any]:
    (entry,) = [e for e in entries if (e["action"], e["outcome"]) == (action, outcome)]
    return entry


async def test_every_change_is_audited_with_its_actor_and_no_personal_data(edge: Edge) -> None:
    client = {**bearer(DEV_CLIENT_KEY), "X-Request-Id": "6f1c3c8e-7a53-4a8e-9a55-2b2f7c0e9d11"}
    created = await edge.api.post("/v1/customers", json={"email": EMAIL}, headers=client)
    assert created.status_code == 201
    customer_id = created.json()["id"]
    patched = await edge.api.patch(
        f"/v1/customers/{customer_id}", json={"name": "Alice"}, headers=bearer(DEV_CLIENT_KEY)
    )
    assert patched.status_code == 200
    refused = await edge.api.post(
        "/v1/customers",
        json={"email": "b@example.com", "name": "4242424242424242"},
        headers=bearer(DEV_CLIENT_KEY),
    )
    assert refused.status_code == 422
    key = await edge.api.post(
        "/v1/admin/api-keys", json={"name": "shop", "role": "client"}, headers=bearer(DEV_ADMIN_KEY)
    )
    rolled = await edge.api.post(
        f"/v1/admin/api-keys/{key.json()['id']}/roll", headers=bearer(DEV_ADMIN_KEY)
    )
    revoked = await edge.api.delete(
        f"/v1/admin/api-keys/{rolled.json()['id']}", headers=bearer(DEV_ADMIN_KEY)
    )
    assert revoked.status_code == 204
    erased = await edge.api.post(
        f"/v1/customers/{customer_id}/erase", headers=bearer(DEV_ADMIN_KEY)
    )
    assert erased.status_code == 200
    await edge.api.get(f"/v1/customers/{customer_id}", headers=bearer(DEV_CLIENT_KEY))

    entries = await audit_log(edge, count=7)
    assert sorted((e["action"], e["outcome"]) for e in entries) == [
        ("api_key.create", 201),
        ("api_key.revoke", 204),
        ("api_key.roll", 201),
        ("customer.create", 201),
        ("customer.create", 422),
        ("customer.erase", 200),
        ("customer.update", 200),
    ], "one entry per mutating request, none for a read"
    first = by_action(entries, "customer.create", 201)
    assert first["actor"] == {"type": "api_key", "id": "key_dev_client"}
    assert first["resource_id"] == customer_id
    assert first["request_id"] == "6f1c3c8e-7a53-4a8e-9a55-2b2f7c0e9d11"
    assert first["ip"] == "127.0.0.1"
    assert first["details"]["email"] == "a***@example.com"
    assert by_action(entries, "customer.create", 422)["details"] == {
        "code": "raw_card_data_forbidden"
    }
    roll = by_action(entries, "api_key.roll", 201)
    assert roll["resource_id"] == key.json()["id"]
    assert roll["actor"] == {"type": "api_key", "id": "key_dev_admin"}

    everything = json.dumps(entries)
    assert EMAIL not in everything and "4242424242424242" not in everything
    assert key.json()["secret"] not in everything and rolled.json()["secret"] not in everything
    by_resource = await audit_log(edge, resource_id=customer_id)
    assert {e["action"] for e in by_resource} == {
        "customer.create",
        "customer.update",
        "customer.erase",
    }


async def test_the_chain_verifies_until_a_row_is_changed_in_the_database(edge: Edge) -> None:
    for index in range(3):
        created = await edge.api.post(
            "/v1/customers", json={"email": f"c{index}@example.com"}, headers=bearer(DEV_ADMIN_KEY)
        )
        assert created.status_code == 201
    verified = await edge.api.get("/v1/admin/audit/verify", headers=bearer(DEV_ADMIN_KEY))
    assert (verified.json()["ok"], verified.json()["checked"]) == (True, 3)

    middle = (await audit_log(edge))[1]
    with sqlite3.connect(edge.database_file) as database:
        database.execute(
            "UPDATE audit_log SET details = ? WHERE id = ?",
            (json.dumps({"email": "m***@example.com"}), middle["id"]),
        )
    tampered = await edge.api.get("/v1/admin/audit/verify", headers=bearer(DEV_ADMIN_KEY))
    assert tampered.json()["ok"] is False
    assert tampered.json()["first_bad_id"] == middle["id"]


async def test_the_operators_key_commands_are_audited_as_the_operators(edge: Edge) -> None:
    def durapay(*args: str) -> Any:
        done = subprocess.run(
            [str(DURAPAY), *args],
            env={
                "PATH": os.environ["PATH"],
                "DURAPAY_ENVIRONMENT": "test",
                "DURAPAY_DATABASE_URL": edge.settings.database_url,
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return json.loads(done.stdout) if done.stdout.startswith(("{", "[")) else done.stdout

    created = await asyncio.to_thread(
        durapay, "keys", "create", "--account", "acct_dev", "--name", "ops", "--role", "admin"
    )
    await asyncio.to_thread(durapay, "keys", "revoke", created["id"])

    entries = await audit_log(edge, resource_id=created["id"])
    assert [(e["action"], e["actor"]) for e in reversed(entries)] == [
        ("api_key.create", {"type": "operator", "id": "durapay-cli"}),
        ("api_key.revoke", {"type": "operator", "id": "durapay-cli"}),
    ]
    assert all(e["ip"] is None and e["request_id"] is None for e in entries)


def test_every_mutating_route_has_an_action_of_its_own() -> None:
    actions: dict[tuple[str, str], str] = {}
    for route in iter_route_contexts(create_app(Settings(environment=Environment.TEST)).routes):
        path = route.path_format or ""
        for method in set(getattr(route, "methods", None) or ()) & MUTATING:
            if not path.startswith(UNCHANGING):
                actions[method, path] = action_of(method, path)
    assert actions, "the app has mutating routes"
    assert all(re.fullmatch(r"[a-z_]+\.[a-z_]+", action) for action in actions.values()), actions
    assert len(set(actions.values())) == len(actions), "two routes would share an action"


def test_actions_are_named_as_the_contract_names_them() -> None:
    assert action_of("POST", "/v1/payments") == "payment.create"
    assert action_of("POST", "/v1/payments/{payment_id}/refunds") == "refund.create"
    assert action_of("POST", "/v1/payments/{payment_id}/capture") == "payment.capture"
    assert action_of("POST", "/v1/admin/api-keys/{key_id}/roll") == "api_key.roll"
    assert action_of("POST", "/v1/admin/reviews/{payment_id}/approve") == "review.approve"
    assert action_of("PATCH", "/v1/customers/{customer_id}") == "customer.update"
    assert (
        action_of("POST", "/v1/subscriptions/{subscription_id}/change-plan")
        == "subscription.change_plan"
    )
