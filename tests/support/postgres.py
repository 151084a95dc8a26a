"""A throwaway PostgreSQL cluster for tests: initdb into a temp dir, start it on a free 127.0.0.1
port with fsync off, and stop it (immediate mode) afterwards; a test may also stop and start it in
between. Tests own the whole server, so they never depend on, or disturb, a system cluster.
PostgreSQL refuses to run as root, so when the tests run as root the server commands run as the
``postgres`` OS user."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from tests.support.net import free_port

DATABASE = "durapay_test"
SUPERUSER = "postgres"
SERVER_OS_USER = "postgres"
SKIP_ENV = "DURAPAY_TEST_SKIP_POSTGRES"
INSTALL_ROOT = Path("/usr/lib/postgresql")


def find_server_binaries() -> Path:
    """The newest installed major version: Debian installs each under its own directory."""
    candidates = [
        bin_dir
        for bin_dir in INSTALL_ROOT.glob("*/bin")
        if bin_dir.parent.name.replace(".", "").isdigit()
        and (bin_dir / "initdb").is_file()
        and (bin_dir / "pg_ctl").is_file()
    ]
    if not candidates:
        raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql")
    return max(candidates, key=lambda d: tuple(int(p) for p in d.parent.name.split(".")))


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", SERVER_OS_USER, "--", *argv]


def _run(argv: list[str], log: Path | None = None) -> None:
    """Run a setup step; on failure say what the tool said, since the cause is rarely in the
    exit code."""
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return
    server_log = log.read_text(errors="replace") if log is not None and log.exists() else ""
    raise RuntimeError(
        f"{' '.join(argv)} exited with {done.returncode}\n"
        f"{done.stdout}{done.stderr}{server_log}".rstrip()
    )


@dataclass(frozen=True)
class PostgresCluster:
    """A running throwaway cluster. ``stop()`` and ``start()`` take the server down and bring it
    back on the same port and data directory, as an operator restarting PostgreSQL would; the
    database and its rows survive, every open connection does not."""

    url: str
    """The asyncpg URL of the ``durapay_test`` database."""
    pg_ctl: tuple[str, ...]
    server_options: str
    log: Path

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = ["-l", str(self.log), "-w", "-t", "60", "-o", self.server_options]
        _run([*self.pg_ctl, *options, "start"], self.log)

    def stop(self, mode: Literal["smart", "fast", "immediate"] = "fast") -> None:
        """Stop the server and wait until it is gone: ``fast`` ends every session cleanly,
        ``immediate`` drops them as a crash would, ``smart`` refuses new connections and waits
        for the open sessions to end first."""
        _run([*self.pg_ctl, "-m", mode, "-w", "-t", "60", "stop"], self.log)


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """Start a fresh cluster with a ``durapay_test`` database; stop it and delete it afterwards,
    whatever state the test left it in.

    Without the server binaries this raises instead of skipping: a suite that silently skips its
    PostgreSQL half looks green while testing half of what production runs. Setting
    ``DURAPAY_TEST_SKIP_POSTGRES=1`` is the explicit, visible opt-out.
    """
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"PostgreSQL tests disabled by {SKIP_ENV}=1")
    binaries = find_server_binaries()
    root = Path(tempfile.mkdtemp(prefix="durapay-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, SERVER_OS_USER, SERVER_OS_USER)
    port = free_port()
    cluster = PostgresCluster(
        url=f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}",
        pg_ctl=tuple(_as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-s"])),
        server_options=f"-h 127.0.0.1 -p {port} -k {root} -F",
        log=root / "server.log",
    )
    cluster_exists = False
    try:
        initdb = [str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust"]
        _run(_as_server_user([*initdb, "-E", "UTF8", "--no-sync"]))
        cluster_exists = True
        cluster.start()
        createdb = [str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port)]
        _run([*createdb, "-U", SUPERUSER, DATABASE])
        yield cluster
    finally:
        if cluster_exists:
            stop = [*cluster.pg_ctl, "-m", "immediate", "stop"]
            subprocess.run(stop, capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def running_postgres() -> Iterator[str]:
    """Yield the asyncpg URL of the ``durapay_test`` database on a fresh cluster (see
    ``postgres_cluster``, for a test that also needs to stop and start the server)."""
    with postgres_cluster() as cluster:
        yield cluster.url
