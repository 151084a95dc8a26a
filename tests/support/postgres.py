"""A throwaway PostgreSQL cluster for tests: initdb into a temp dir, start it on a free 127.0.0.1
port with fsync off, and stop it (immediate mode) afterwards. Tests own the whole server, so they
never depend on, or disturb, a system cluster. PostgreSQL refuses to run as root, so when the tests
run as root the server commands run as the ``postgres`` OS user."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


@contextmanager
def running_postgres() -> Iterator[str]:
    """Yield the asyncpg URL of the ``durapay_test`` database on a fresh cluster.

    Without the server binaries this raises instead of skipping: a suite that silently skips its
    PostgreSQL half looks green while testing half of what production runs. Setting
    ``DURAPAY_TEST_SKIP_POSTGRES=1`` is the explicit, visible opt-out.
    """
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"PostgreSQL tests disabled by {SKIP_ENV}=1")
    binaries = find_server_binaries()
    root = Path(tempfile.mkdtemp(prefix="durapay-pg-"))
    data = root / "data"
    log = root / "server.log"
    if os.geteuid() == 0:
        shutil.chown(root, SERVER_OS_USER, SERVER_OS_USER)
    pg_ctl = _as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-s"])
    port = free_port()
    cluster_exists = False
    try:
        initdb = [str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust"]
        _run(_as_server_user([*initdb, "-E", "UTF8", "--no-sync"]))
        cluster_exists = True
        _run(
            [
                *pg_ctl,
                "-l",
                str(log),
                "-w",
                "-t",
                "60",
                "-o",
                f"-h 127.0.0.1 -p {port} -k {root} -F",
                "start",
            ],
            log,
        )
        createdb = [str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port)]
        _run([*createdb, "-U", SUPERUSER, DATABASE])
        yield f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}"
    finally:
        if cluster_exists:
            subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
