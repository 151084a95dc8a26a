"""The production compose file, rendered by Debian's docker-compose exactly as an operator's
`docker-compose up` would render it with the example environment: the API and the worker load
their settings from what compose hands them, and nothing in the file could keep a service from
starting. No Docker engine runs here, so what compose would only find out at `up` (an image tag
that does not exist, a healthcheck that never passes) stays untested; the rest is checked."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from dotenv import dotenv_values

from contracts.search_attributes import SEARCH_ATTRIBUTES
from settings import Environment, Settings
from tests.support.processes import ROOT
from tests.support.production import production

COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
JOBS = frozenset({"temporal-schema", "temporal-setup", "migrate"})
"""One-shot services: they run to completion, and their dependents wait for that."""


def docker_compose(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose not found: apt-get install docker-compose (.ci/run does)")
    return subprocess.run(
        [binary, "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE_FILE), *args],
        cwd=ROOT,
        # Only .env.example: nothing from the shell running the tests may fill a variable in.
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    rendered = docker_compose("config")
    assert rendered.returncode == 0, rendered.stderr
    services: dict[str, Any] = yaml.safe_load(rendered.stdout)["services"]
    return services


@pytest.fixture(scope="module")
def example() -> dict[str, str]:
    return {name: value or "" for name, value in dotenv_values(ENV_EXAMPLE).items()}


def published_on(port: str | dict[str, Any]) -> str:
    """The host address of a published port, in either of the forms compose renders;
    empty for every interface."""
    if isinstance(port, str):
        parts = port.split(":")
        return parts[0] if len(parts) == 3 else ""
    return str(port.get("host_ip", ""))


@pytest.mark.parametrize("service", ["api", "worker"])
def test_api_and_worker_start_in_production_with_what_compose_gives_them(
    services: dict[str, Any],
    example: dict[str, str],
    service: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [name for name in os.environ if name.startswith("DURAPAY_")]:
        monkeypatch.delenv(name)
    for name, value in services[service]["environment"].items():
        monkeypatch.setenv(name, str(value))

    settings = Settings()

    assert settings.environment is Environment.PRODUCTION
    assert not settings.dev_keys_enabled
    assert settings.database_url == (
        f"postgresql+asyncpg://durapay:{example['DURAPAY_DB_PASSWORD']}@postgres:5432/durapay"
    )
    assert settings.temporal_address == "temporal:7233"
    assert settings.temporal_namespace == example["DURAPAY_TEMPORAL_NAMESPACE"]
    assert settings.api_base_url == f"https://{example['DURAPAY_DOMAIN']}"
    assert settings.stripe_api_base == "https://api.stripe.com"
    assert settings.stripe_api_key.get_secret_value() == example["DURAPAY_STRIPE_API_KEY"]
    assert settings.paypal_api_base == example["DURAPAY_PAYPAL_API_BASE"]
    assert settings.paypal_client_id == example["DURAPAY_PAYPAL_CLIENT_ID"]
    assert (
        settings.paypal_client_secret.get_secret_value() == example["DURAPAY_PAYPAL_CLIENT_SECRET"]
    )
    assert settings.paypal_webhook_id == example["DURAPAY_PAYPAL_WEBHOOK_ID"]
    assert settings.paypal_currencies == Settings.model_fields["paypal_currencies"].default
    assert (settings.smtp_host, settings.smtp_port) == (example["DURAPAY_SMTP_HOST"], 587)
    assert settings.smtp_tls == "starttls"
    assert settings.smtp_username == example["DURAPAY_SMTP_USERNAME"]
    assert settings.smtp_password.get_secret_value() == example["DURAPAY_SMTP_PASSWORD"]
    assert settings.update_payment_method_url == example["DURAPAY_UPDATE_PAYMENT_METHOD_URL"]
    assert "{subscription_id}" in settings.update_payment_method_url


def test_every_variable_compose_reads_is_in_the_example_and_no_other(
    example: dict[str, str],
) -> None:
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE_FILE.read_text()))
    assert used == set(example)


def test_a_missing_secret_stops_compose_and_names_it(tmp_path: Path) -> None:
    partial = tmp_path / ".env"
    lines = ENV_EXAMPLE.read_text().splitlines()
    partial.write_text("\n".join(x for x in lines if not x.startswith("DURAPAY_PAYPAL_CLIENT_ID")))
    binary = shutil.which("docker-compose") or "docker-compose"
    refused = subprocess.run(
        [binary, "--env-file", str(partial), "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0
    assert "set DURAPAY_PAYPAL_CLIENT_ID" in refused.stderr


def test_every_image_has_a_fixed_tag(services: dict[str, Any]) -> None:
    for name, service in services.items():
        repository, _, tag = service["image"].rpartition(":")
        assert repository and re.fullmatch(r"\d+(\.\d+)+(-[a-z0-9.]+)?", tag), (name, tag)


def test_temporal_runs_the_release_make_dev_runs(services: dict[str, Any]) -> None:
    version = subprocess.run(
        [str(Path(sys.executable).parent / "temporal"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"Server (\d+\.\d+\.\d+), UI (\d+\.\d+\.\d+)", version)
    assert found, version
    server, ui = found.groups()
    assert services["temporal"]["image"] == f"temporalio/server:{server}"
    assert services["temporal-schema"]["image"] == f"temporalio/admin-tools:{server}"
    assert services["temporal-setup"]["image"] == f"temporalio/admin-tools:{server}"
    assert services["temporal-ui"]["image"] == f"temporalio/ui:{ui}"
    assert not any("auto-setup" in service["image"] for service in services.values())


def test_every_service_waits_for_what_it_needs(services: dict[str, Any]) -> None:
    """Long-running services have a healthcheck and restart; jobs run once; every dependency
    names the condition that makes it usable: healthy for a service, done for a job."""
    for name, service in services.items():
        if name in JOBS:
            assert "restart" not in service and "healthcheck" not in service, name
        else:
            assert service["restart"] == "unless-stopped", name
            assert service["healthcheck"]["test"][0] in {"CMD", "CMD-SHELL"}, name
        for dependency, condition in service.get("depends_on", {}).items():
            wanted = "service_completed_successfully" if dependency in JOBS else "service_healthy"
            assert condition == {"condition": wanted}, (name, dependency)


def test_the_scripts_compose_mounts_exist_and_parse(services: dict[str, Any]) -> None:
    mounted = [
        Path(volume.split(":")[0])
        for service in services.values()
        for volume in service.get("volumes", [])
        if volume.startswith("/")
    ]
    assert mounted
    for source in mounted:
        assert source.is_file(), source
        if source.suffix == ".sh":
            parsed = subprocess.run(["sh", "-n", str(source)], capture_output=True, text=True)
            assert parsed.returncode == 0, parsed.stderr


def test_temporal_and_durapay_use_their_own_database_users(services: dict[str, Any]) -> None:
    temporal_users = {
        services["temporal"]["environment"]["POSTGRES_USER"],
        services["temporal-schema"]["environment"]["SQL_USER"],
    }
    durapay_url = services["migrate"]["environment"]["DURAPAY_DATABASE_URL"]
    assert temporal_users == {"temporal"}
    assert durapay_url.startswith("postgresql+asyncpg://durapay:")
    assert services["api"]["environment"]["DURAPAY_DATABASE_URL"] == durapay_url


def test_the_namespace_job_registers_every_search_attribute(services: dict[str, Any]) -> None:
    registered = services["temporal-setup"]["environment"]["SEARCH_ATTRIBUTES"].split()
    expected = [
        f"{key.name}={'Int' if key.indexed_value_type.name == 'INT' else 'Keyword'}"
        for key in SEARCH_ATTRIBUTES
    ]
    assert sorted(registered) == sorted(expected)


def test_the_web_ui_decodes_through_durapay_and_only_the_proxy_is_public(
    services: dict[str, Any], example: dict[str, str]
) -> None:
    """The UI's browser (no login, no key) reaches the codec through the proxy's loopback-only
    operator site, which adds the admin key, from an origin the API answers CORS for."""
    ui = services["temporal-ui"]
    assert ui["environment"]["TEMPORAL_CODEC_ENDPOINT"] == "http://127.0.0.1:8234/codec"
    assert "DURAPAY_CODEC_KEY" in services["proxy"]["environment"]
    assert any("8234" in str(port) for port in services["proxy"]["ports"])
    ui_ports = [port for port in ui["ports"] if "8233" in str(port)]
    assert ui_ports and all(published_on(port) == "127.0.0.1" for port in ui_ports)
    assert "http://127.0.0.1:8233" in production().codec_cors_origins
    caddyfile = (ROOT / "deploy" / "caddy" / "Caddyfile").read_text()
    assert 'header_up Authorization "Bearer {$DURAPAY_CODEC_KEY}"' in caddyfile
    public = {
        name
        for name, service in services.items()
        for port in service.get("ports", [])
        if published_on(port) != "127.0.0.1"
    }
    assert public == {"proxy"}
    assert services["api"]["deploy"]["replicas"] == int(example["DURAPAY_API_REPLICAS"])
    assert services["worker"]["deploy"]["replicas"] == int(example["DURAPAY_WORKER_REPLICAS"])
