"""Alerts and the audit log as an admin meets them through the API: their own account's only,
resolvable once, counted in /metrics; the audit chain verifies until a row is changed, and then
names it.

The API runs in process on a migrated SQLite file; these routes never reach Temporal, so its
client is lazy and never connects."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from contracts.alerts import AlertKind, AlertRequest, AlertSeverity
from contracts.audit import ActorType, AuditRecord
from db.migrate import upgrade_to_head
from services import alerts, audit
from services.database import connect
from settings import DEV_ACCOUNT_ID, DEV_ADMIN_KEY, DEV_CLIENT_KEY, Environment, Settings
from tests.support.in_process_api import in_process_api

ADMIN = {"Authorization": f"Bearer {DEV_ADMIN_KEY}"}


@dataclass(frozen=True)
class Api:
    database_url: str
    database_file: Path
    client: httpx.AsyncClient


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    database_file = tmp_path / "durapay.db"
    url = f"sqlite+aiosqlite:///{database_file}"
    await upgrade_to_head(url)
    settings = Settings.model_validate(
        {"environment": Environment.TEST, "database_url": url, "data_dir": tmp_path}
    )
    temporal = await Client.connect("127.0.0.1:1", lazy=True)
    async with in_process_api(settings, temporal) as client:
        yield Api(url, database_file, client)


def _alert(account: str, customer: str) -> AlertRequest:
    return AlertRequest(
        account_id=account,
        kind=AlertKind.FAILED_ATTEMPTS,
        severity=AlertSeverity.MEDIUM,
        cause=customer,
        detail=f"4 failed payments of {customer} in the last hour",
        customer_id=customer,
    )


async def test_an_admin_sees_and_resolves_their_accounts_alerts_once(api: Api) -> None:
    async with connect(api.database_url) as database:
        mine = await alerts.raise_alert(database, _alert(DEV_ACCOUNT_ID, "cus_mine"))
        again = await alerts.raise_alert(database, _alert(DEV_ACCOUNT_ID, "cus_mine"))
        theirs = await alerts.raise_alert(database, _alert("acct_other", "cus_theirs"))
    assert again.id == mine.id and not again.created

    listed = await api.client.get("/v1/admin/alerts?status=open", headers=ADMIN)
    assert listed.status_code == 200, listed.text
    assert [
        (a["id"], a["kind"], a["severity"], a["customer_id"]) for a in listed.json()["data"]
    ] == [(mine.id, "failed_attempts", "medium", "cus_mine")]

    resolved = await api.client.post(
        f"/v1/admin/alerts/{mine.id}/resolve", json={"resolution": "card blocked"}, headers=ADMIN
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["resolution"] == "card blocked" and resolved.json()["resolved_at"]
    twice = await api.client.post(
        f"/v1/admin/alerts/{mine.id}/resolve", json={"resolution": "other"}, headers=ADMIN
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "invalid_state")
    other = await api.client.post(
        f"/v1/admin/alerts/{theirs.id}/resolve", json={"resolution": "x"}, headers=ADMIN
    )
    assert other.status_code == 404
    open_now = await api.client.get("/v1/admin/alerts?status=open", headers=ADMIN)
    assert open_now.json()["data"] == []

    client = await api.client.get(
        "/v1/admin/alerts", headers={"Authorization": f"Bearer {DEV_CLIENT_KEY}"}
    )
    assert client.status_code == 403

    metrics = await api.client.get("/metrics")
    assert 'durapay_alerts_total{kind="failed_attempts",severity="medium"} 2.0' in metrics.text


async def test_the_audit_chain_verifies_until_a_row_is_changed(api: Api) -> None:
    async with connect(api.database_url) as database:
        ids = [
            await audit.record(
                database,
                AuditRecord(
                    account_id=DEV_ACCOUNT_ID,
                    actor_type=ActorType.API_KEY,
                    actor_id="key_dev_client",
                    action="refund.create",
                    resource_id=f"pay_{n}",
                    outcome=201,
                    details={"amount": 500, "email": audit.mask_email("bob@example.com")},
                ),
            )
            for n in range(3)
        ]

    listed = await api.client.get("/v1/admin/audit?resource_id=pay_1", headers=ADMIN)
    assert listed.status_code == 200, listed.text
    [entry] = listed.json()["data"]
    assert (entry["id"], entry["action"], entry["actor"]) == (
        ids[1],
        "refund.create",
        {"type": "api_key", "id": "key_dev_client"},
    )
    assert entry["details"]["email"] == "b***@example.com"
    verified = await api.client.get("/v1/admin/audit/verify", headers=ADMIN)
    assert verified.json() == {"ok": True, "checked": 3, "first_bad_id": None}

    with sqlite3.connect(api.database_file) as tamper:
        tamper.execute("UPDATE audit_log SET outcome = 200 WHERE id = ?", (ids[1],))

    verified = await api.client.get("/v1/admin/audit/verify", headers=ADMIN)
    assert verified.json() == {"ok": False, "checked": 1, "first_bad_id": ids[1]}
