"""API keys as an operator and an admin meet them: the first admin key of a production deployment
comes from the ``durapay`` command (the console script ``make install`` puts in the environment,
run as a subprocess on a database this test migrates), and the API it opens issues, lists, rolls
and revokes keys of its own account only.

The API runs in process on that database. Key routes never reach Temporal, so its client is a lazy
one that never connects: no Temporal server is started for these tests."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import make_url
from temporalio.client import Client

from db.migrate import upgrade_to_head
from services import api_keys
from services.database import connect
from settings import DEV_API_KEY_SECRET, Environment, Settings
from tests.support.in_process_api import in_process_api

DURAPAY = Path(sys.executable).with_name("durapay")
"""The console script of this environment (``[project.scripts]`` in pyproject.toml)."""


@dataclass(frozen=True)
class Command:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.returncode == 0, self.stderr
        return json.loads(self.stdout)


@dataclass(frozen=True)
class Deployment:
    database_url: str
    workdir: Path
    api: httpx.AsyncClient

    async def durapay(self, *args: str) -> Command:
        """Run the installed command as an operator would, from outside the source tree."""
        done = await asyncio.to_thread(
            subprocess.run,
            [str(DURAPAY), *args],
            cwd=self.workdir,
            env={
                "PATH": os.environ["PATH"],
                "DURAPAY_ENVIRONMENT": "test",
                "DURAPAY_DATABASE_URL": self.database_url,
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return Command(done.returncode, done.stdout, done.stderr)

    async def call(
        self, method: str, path: str, secret: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        return await self.api.request(
            method, path, json=body, headers={"Authorization": f"Bearer {secret}"}
        )

    async def admin_key(self, account: str = "acct_ops") -> dict[str, Any]:
        """An admin key made in process, quicker than the command for tests about the API."""
        async with connect(self.database_url) as database:
            issued = await api_keys.create_key(
                database, account, "ops", "admin", hashing_key=SecretStr(DEV_API_KEY_SECRET)
            )
        return asdict(issued)


@pytest.fixture
async def deployment(tmp_path: Path) -> AsyncIterator[Deployment]:
    """A fresh production deployment: migrated, no dev keys, no key at all yet."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'durapay.db'}"
    await upgrade_to_head(url)
    settings = Settings.model_validate(
        {"environment": Environment.TEST, "database_url": url, "data_dir": tmp_path}
    ).model_copy(update={"environment": Environment.PRODUCTION})
    client = await Client.connect("127.0.0.1:1", lazy=True)
    workdir = tmp_path / "operator"
    workdir.mkdir()
    async with in_process_api(settings, client) as api:
        yield Deployment(url, workdir, api)


async def test_the_first_admin_key_of_a_production_deployment_comes_from_the_command(
    deployment: Deployment,
) -> None:
    created = await deployment.durapay(
        "keys", "create", "--account", "acct_ops", "--name", "ops", "--role", "admin"
    )
    key = created.json()
    assert key["id"].startswith("key_") and key["secret"].startswith("sk_")
    assert (key["name"], key["role"], key["account_id"]) == ("ops", "admin", "acct_ops")
    assert (key["expires_at"], key["last_used_at"]) == (None, None)
    assert "shown only this once" in created.stderr

    listed = await deployment.call("GET", "/v1/admin/api-keys", key["secret"])
    assert listed.status_code == 200, listed.text
    assert [k["id"] for k in listed.json()["data"]] == [key["id"]]
    assert key["secret"] not in listed.text

    nobody = await deployment.call("GET", "/v1/admin/api-keys", "sk_dev_admin")
    assert nobody.status_code == 401


async def test_an_admin_issues_keys_whose_secret_is_never_shown_again(
    deployment: Deployment,
) -> None:
    admin = await deployment.admin_key()
    created = await deployment.call(
        "POST", "/v1/admin/api-keys", admin["secret"], {"name": "checkout", "role": "client"}
    )
    assert created.status_code == 201, created.text
    client = created.json()
    assert (client["role"], client["account_id"], client["expires_at"]) == (
        "client",
        "acct_ops",
        None,
    )
    assert (await deployment.call("GET", "/v1/plans", client["secret"])).status_code == 200

    listed = await deployment.call("GET", "/v1/admin/api-keys", admin["secret"])
    assert {k["id"] for k in listed.json()["data"]} == {admin["id"], client["id"]}
    assert all("secret" not in k for k in listed.json()["data"])
    assert admin["secret"] not in listed.text and client["secret"] not in listed.text
    from_command = await deployment.durapay("keys", "list", "--account", "acct_ops")
    assert {k["id"] for k in from_command.json()} == {admin["id"], client["id"]}
    assert "sk_" not in from_command.stdout


async def test_a_rolled_key_keeps_working_until_it_expires(deployment: Deployment) -> None:
    admin = await deployment.admin_key()
    old = (
        await deployment.call(
            "POST", "/v1/admin/api-keys", admin["secret"], {"name": "shop", "role": "client"}
        )
    ).json()

    rolled = await deployment.call(
        "POST", f"/v1/admin/api-keys/{old['id']}/roll", admin["secret"], {"expires_in": 2}
    )
    assert rolled.status_code == 201, rolled.text
    new = rolled.json()
    assert new["id"] != old["id"] and new["secret"] != old["secret"]
    assert (new["name"], new["role"], new["expires_at"]) == ("shop", "client", None)
    for secret in (old["secret"], new["secret"]):
        assert (await deployment.call("GET", "/v1/plans", secret)).status_code == 200

    listed = {
        k["id"]: k
        for k in (await deployment.call("GET", "/v1/admin/api-keys", admin["secret"])).json()[
            "data"
        ]
    }
    expires_at = datetime.fromisoformat(listed[old["id"]]["expires_at"])
    await asyncio.sleep((expires_at - datetime.now(UTC)).total_seconds() + 0.2)
    assert (await deployment.call("GET", "/v1/plans", old["secret"])).status_code == 401
    assert (await deployment.call("GET", "/v1/plans", new["secret"])).status_code == 200
    listed_after = await deployment.call("GET", "/v1/admin/api-keys", admin["secret"])
    assert old["id"] not in {k["id"] for k in listed_after.json()["data"]}


async def test_a_roll_without_a_body_gives_the_old_key_a_day(deployment: Deployment) -> None:
    admin = await deployment.admin_key()
    rolled = await deployment.call(
        "POST", f"/v1/admin/api-keys/{admin['id']}/roll", admin["secret"]
    )
    assert rolled.status_code == 201, rolled.text
    listed = await deployment.call("GET", "/v1/admin/api-keys", rolled.json()["secret"])
    old = next(k for k in listed.json()["data"] if k["id"] == admin["id"])
    left = datetime.fromisoformat(old["expires_at"]) - datetime.now(UTC)
    assert 86_000 < left.total_seconds() <= 86_400

    too_long = await deployment.call(
        "POST", f"/v1/admin/api-keys/{admin['id']}/roll", admin["secret"], {"expires_in": 10**7}
    )
    assert too_long.status_code == 422
    assert too_long.json()["code"] == "validation_error"


async def test_a_revoked_key_is_refused_at_once(deployment: Deployment) -> None:
    admin = await deployment.admin_key()
    client = (
        await deployment.call(
            "POST", "/v1/admin/api-keys", admin["secret"], {"name": "leaked", "role": "client"}
        )
    ).json()
    assert (await deployment.call("GET", "/v1/plans", client["secret"])).status_code == 200

    revoked = await deployment.call("DELETE", f"/v1/admin/api-keys/{client['id']}", admin["secret"])
    assert revoked.status_code == 204
    refused = await deployment.call("GET", "/v1/plans", client["secret"])
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthorized"
    again = await deployment.call("DELETE", f"/v1/admin/api-keys/{client['id']}", admin["secret"])
    assert again.status_code == 404


async def test_a_client_key_may_not_manage_keys(deployment: Deployment) -> None:
    admin = await deployment.admin_key()
    client = (
        await deployment.call(
            "POST", "/v1/admin/api-keys", admin["secret"], {"name": "shop", "role": "client"}
        )
    ).json()
    for method, path, body in (
        ("POST", "/v1/admin/api-keys", {"name": "mine", "role": "admin"}),
        ("GET", "/v1/admin/api-keys", None),
        ("POST", f"/v1/admin/api-keys/{admin['id']}/roll", {}),
        ("DELETE", f"/v1/admin/api-keys/{admin['id']}", None),
    ):
        answer = await deployment.call(method, path, client["secret"], body)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["code"] == "forbidden"
    assert (await deployment.call("GET", "/v1/plans", admin["secret"])).status_code == 200


async def test_another_accounts_key_is_not_found(deployment: Deployment) -> None:
    ours = await deployment.admin_key("acct_ours")
    theirs = await deployment.admin_key("acct_theirs")
    for method, path in (
        ("POST", f"/v1/admin/api-keys/{theirs['id']}/roll"),
        ("DELETE", f"/v1/admin/api-keys/{theirs['id']}"),
    ):
        answer = await deployment.call(method, path, ours["secret"])
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["code"] == "not_found"
    listed = await deployment.call("GET", "/v1/admin/api-keys", ours["secret"])
    assert [k["id"] for k in listed.json()["data"]] == [ours["id"]]
    assert (await deployment.call("GET", "/v1/plans", theirs["secret"])).status_code == 200


async def test_the_command_rolls_and_revokes_any_accounts_key(deployment: Deployment) -> None:
    first = (
        await deployment.durapay(
            "keys", "create", "--account", "acct_ops", "--name", "ops", "--role", "admin"
        )
    ).json()

    rolled = await deployment.durapay("keys", "roll", first["id"], "--expires-in", "0")
    second = rolled.json()
    assert second["secret"].startswith("sk_") and "shown only this once" in rolled.stderr
    assert (await deployment.call("GET", "/v1/plans", first["secret"])).status_code == 401
    assert (await deployment.call("GET", "/v1/plans", second["secret"])).status_code == 200

    revoked = await deployment.durapay("keys", "revoke", second["id"])
    assert (revoked.returncode, revoked.stdout.strip()) == (0, f"{second['id']} revoked")
    assert (await deployment.call("GET", "/v1/plans", second["secret"])).status_code == 401

    unknown = await deployment.durapay("keys", "revoke", second["id"])
    assert unknown.returncode == 1 and f"No API key {second['id']}" in unknown.stderr
    misspelt = await deployment.durapay(
        "keys", "create", "--account", "ops", "--name", "ops", "--role", "admin"
    )
    assert misspelt.returncode == 2 and "acct_" in misspelt.stderr


async def test_last_use_is_recorded_at_most_once_a_minute(deployment: Deployment) -> None:
    admin = await deployment.admin_key()

    async def last_used() -> str | None:
        listed = await deployment.call("GET", "/v1/admin/api-keys", admin["secret"])
        used: str | None = listed.json()["data"][0]["last_used_at"]
        return used

    assert await last_used() is None, "recorded after the answer, not before"
    recorded = await last_used()
    assert recorded is not None
    assert abs(datetime.fromisoformat(recorded) - datetime.now(UTC)) < timedelta(seconds=30)
    for _ in range(3):
        assert await last_used() == recorded


async def test_reads_go_on_while_the_database_is_write_locked(deployment: Deployment) -> None:
    """Recording a key's use is a write: it must not turn a read into a 503 during a lock."""
    admin = await deployment.admin_key()
    database = make_url(deployment.database_url).database
    assert database is not None
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        during = await deployment.call("GET", "/v1/admin/api-keys", admin["secret"])
        assert during.status_code == 200, during.text
        holder.execute("ROLLBACK")
    finally:
        holder.close()
    listed = await deployment.call("GET", "/v1/admin/api-keys", admin["secret"])
    assert listed.json()["data"][0]["last_used_at"] is None, "not recorded during the lock"
    listed = await deployment.call("GET", "/v1/admin/api-keys", admin["secret"])
    assert listed.json()["data"][0]["last_used_at"] is not None, "recorded by the next request"
