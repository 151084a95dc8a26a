"""``make dev``: the whole Durapay stack on localhost, stopped cleanly by Ctrl-C.

Starts, in order: the Temporal dev server (file-backed under the data dir, Durapay's search
attributes registered), localstripe, the PayPal sandbox (delivering webhooks to the API), the mail
sink (every mail lands in ``<data dir>/mail/``), database migrations, the worker and the API; then
registers the API's Stripe webhook endpoint with localstripe and prints where everything is. Every
child runs in its own session with a parent-death signal, so nothing outlives this process, and a
second ``make dev`` reuses the data dir.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from contracts.search_attributes import SEARCH_ATTRIBUTES
from db.migrate import upgrade_to_head
from services import logs
from settings import DEV_ADMIN_KEY, DEV_CLIENT_KEY, Environment, Settings

log = logging.getLogger("durapay.devstack")

BIN = Path(sys.executable).parent
STOP_GRACE_SECONDS = 10.0
START_TIMEOUT_SECONDS = 60.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in each child before exec: own session, and SIGTERM if the launcher dies."""
    os.setsid()
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Stack:
    settings: Settings
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def spawn(self, name: str, argv: Sequence[str], log_file: Path) -> None:
        handle = log_file.open("ab")
        process = subprocess.Popen(
            list(argv),
            stdout=handle,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        self.children.append((name, process))
        log.info("started %s (pid %s), log: %s", name, process.pid, log_file)

    def first_exited(self) -> str | None:
        for name, process in self.children:
            if process.poll() is not None:
                return f"{name} exited with code {process.returncode}"
        return None

    def stop(self) -> None:
        """SIGTERM in reverse start order, then SIGKILL whatever is left after the grace period."""
        for _, process in reversed(self.children):
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, process in reversed(self.children):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time; killing it", name)
                process.kill()
                process.wait()
        self.children.clear()


def api_argv() -> list[str]:
    """The API as production runs it (``python -m api``), on the settings' host and port."""
    return [sys.executable, "-m", "api"]


def temporal_argv(settings: Settings, host: str, port: int) -> list[str]:
    return [
        str(BIN / "temporal"),
        "server",
        "start-dev",
        "--db-filename",
        str(settings.data_dir / "temporal.db"),
        "--ip",
        host,
        "--port",
        str(port),
        "--ui-port",
        str(settings.temporal_ui_port),
        "--namespace",
        settings.temporal_namespace,
        # The UI's browser sends payloads to the API's codec server, so an operator reads them
        # decrypted (README "Payload encryption").
        "--ui-codec-endpoint",
        f"{settings.api_base_url}/codec",
        *durable_server_flags(),
    ]


def durable_server_flags() -> list[str]:
    """What every file-backed dev server of ours runs with: SQLite in WAL mode (a crash loses
    nothing committed, writes do not block readers), quiet logs, Durapay's search attributes."""
    flags = [
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--log-level",
        "warn",
    ]
    for key in SEARCH_ATTRIBUTES:
        kind = "Int" if key.indexed_value_type.name == "INT" else "Keyword"
        flags += ["--search-attribute", f"{key.name}={kind}"]
    return flags


def fixed_ports(settings: Settings) -> list[tuple[str, str, int, str]]:
    """Every address the stack listens on: (what, host, port, the setting that moves it)."""
    temporal_host, _, temporal_port = settings.temporal_address.rpartition(":")
    return [
        ("the API", settings.api_host, settings.api_port, "DURAPAY_API_PORT"),
        ("Temporal", temporal_host, int(temporal_port), "DURAPAY_TEMPORAL_ADDRESS"),
        ("the Temporal UI", temporal_host, settings.temporal_ui_port, "DURAPAY_TEMPORAL_UI_PORT"),
        ("localstripe", "127.0.0.1", _port_of(settings.stripe_api_base), "DURAPAY_STRIPE_API_BASE"),
        (
            "the PayPal sandbox",
            "127.0.0.1",
            _port_of(settings.paypal_api_base),
            "DURAPAY_PAYPAL_API_BASE",
        ),
        ("the mail sink", "127.0.0.1", settings.smtp_port, "DURAPAY_SMTP_PORT"),
    ]


def _port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def ports_in_use(settings: Settings) -> list[str]:
    """The stack's addresses something already listens on, each with what would have used it.

    Checked before anything starts: a second ``make dev`` used to report only "temporal exited
    with code 1", the port being named in Temporal's log file alone."""
    busy = []
    for name, host, port, setting in fixed_ports(settings):
        with socket.socket() as probe:
            # As the servers themselves bind: a port left in TIME_WAIT is free to them.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                busy.append(f"{host}:{port} ({name}, {setting})")
    return busy


def wait_for_port(host: str, port: int, name: str, stack: Stack) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        exited = stack.first_exited()
        if exited:
            raise RuntimeError(exited)
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex((host, port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not open {host}:{port} within {START_TIMEOUT_SECONDS:.0f}s")


def wait_for_health(url: str, stack: Stack) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        exited = stack.first_exited()
        if exited:
            raise RuntimeError(exited)
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the API at {url} did not become healthy")


def register_stripe_webhook(settings: Settings) -> None:
    """Tell localstripe where to deliver events, as a Stripe dashboard endpoint would."""
    response = httpx.post(
        f"{settings.stripe_api_base}/_config/webhooks/durapay",
        data={
            "url": f"{settings.api_base_url}/v1/webhooks/stripe",
            "secret": settings.stripe_webhook_secret.get_secret_value(),
        },
        headers={"Authorization": f"Bearer {settings.stripe_api_key.get_secret_value()}"},
        timeout=5,
    )
    response.raise_for_status()


def ui_origins(settings: Settings) -> list[str]:
    """Where the dev Web UI's pages come from, as a browser names the origin."""
    host = settings.temporal_address.rpartition(":")[0]
    names = {host, "localhost"} if host == "127.0.0.1" else {host}
    return sorted(f"http://{name}:{settings.temporal_ui_port}" for name in names)


def trust_the_dev_ui(settings: Settings) -> None:
    """The dev Web UI has no login, so its browser calls the codec server without a key: the API
    this stack starts serves such calls from the UI's origins (never in production)."""
    os.environ.setdefault("DURAPAY_CODEC_TRUST_UI_ORIGIN", "true")
    os.environ.setdefault("DURAPAY_CODEC_CORS_ORIGINS", json.dumps(ui_origins(settings)))


def banner(settings: Settings) -> str:
    host = settings.temporal_address.rpartition(":")[0]
    return "\n".join(
        [
            "",
            "Durapay dev stack is up:",
            f"  API            {settings.api_base_url}   (docs: {settings.api_base_url}/docs)",
            f"  Temporal       {settings.temporal_address}",
            f"  Temporal UI    http://{host}:{settings.temporal_ui_port}"
            f"   (payloads decrypted by {settings.api_base_url}/codec)",
            f"  localstripe    {settings.stripe_api_base}",
            f"  PayPal sandbox {settings.paypal_api_base}   (client: {settings.paypal_client_id})",
            f"  mail sink      smtp://127.0.0.1:{settings.smtp_port}"
            f"   (messages: {(settings.data_dir / 'mail').resolve()})",
            f"  data dir       {settings.data_dir.resolve()}",
            "  API keys       client: " + DEV_CLIENT_KEY + "   admin: " + DEV_ADMIN_KEY,
            f"  Stripe key     {settings.stripe_api_key.get_secret_value()}"
            " (localstripe accepts any sk_test_ key)",
            "Press Ctrl-C to stop everything.",
            "",
        ]
    )


def run(settings: Settings) -> int:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    logs = settings.data_dir / "logs"
    logs.mkdir(exist_ok=True)
    stack = Stack(settings)
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    busy = ports_in_use(settings)
    if busy:
        log.error(
            "cannot start the dev stack: already in use: %s. Is another `make dev` running? "
            "Stop it, or move this one with the settings named.",
            "; ".join(busy),
        )
        return 1
    temporal_host, _, temporal_port = settings.temporal_address.rpartition(":")
    stripe_port = _port_of(settings.stripe_api_base)
    try:
        stack.spawn(
            "temporal",
            temporal_argv(settings, temporal_host, int(temporal_port)),
            logs / "temporal.log",
        )
        stack.spawn(
            "localstripe",
            [
                sys.executable,
                "-m",
                "sandbox.localstripe",
                "--port",
                str(stripe_port),
                "--state-file",
                str(settings.data_dir / "localstripe.pickle"),
            ],
            logs / "localstripe.log",
        )
        paypal_port = _port_of(settings.paypal_api_base)
        stack.spawn(
            "paypal-sandbox",
            [
                sys.executable,
                "-m",
                "sandbox.paypal",
                "--host",
                "127.0.0.1",
                "--port",
                str(paypal_port),
                "--webhook-url",
                f"{settings.api_base_url}/v1/webhooks/paypal",
                "--webhook-id",
                settings.paypal_webhook_id,
            ],
            logs / "paypal-sandbox.log",
        )
        stack.spawn(
            "mail-sink",
            [
                sys.executable,
                "-m",
                "sandbox.mailsink",
                "--port",
                str(settings.smtp_port),
                "--dir",
                str(settings.data_dir / "mail"),
            ],
            logs / "mail-sink.log",
        )
        asyncio.run(upgrade_to_head(settings.database_url))
        wait_for_port(temporal_host, int(temporal_port), "temporal", stack)
        wait_for_port("127.0.0.1", stripe_port, "localstripe", stack)
        wait_for_port("127.0.0.1", paypal_port, "paypal sandbox", stack)
        wait_for_port("127.0.0.1", settings.smtp_port, "mail sink", stack)
        trust_the_dev_ui(settings)
        stack.spawn("worker", [sys.executable, "-m", "worker"], logs / "worker.log")
        stack.spawn(
            "api",
            api_argv(),
            logs / "api.log",
        )
        wait_for_health(settings.api_base_url, stack)
        register_stripe_webhook(settings)
        sys.stdout.write(banner(settings) + "\n")
        sys.stdout.flush()
        while not stopping:
            exited = stack.first_exited()
            if exited:
                log.error("%s; stopping the stack (see %s)", exited, logs)
                return 1
            time.sleep(0.3)
        return 0
    except Exception as error:
        log.error("dev stack failed to start: %s (logs in %s)", error, logs)
        return 1
    finally:
        stack.stop()
        log.info("dev stack stopped")


if __name__ == "__main__":
    logs.configure("INFO", console=True)
    # The settings default to production; this stack is dev by definition, and the worker and
    # the API it starts inherit the variable.
    os.environ["DURAPAY_ENVIRONMENT"] = Environment.DEV.value
    sys.exit(run(Settings()))
