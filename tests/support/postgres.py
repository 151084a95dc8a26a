"""A throwaway PostgreSQL cluster for tests: initdb into a temp dir, start on a free 127.0.0.1 port
with fsync off, and stop it (immediate mode) afterwards. Runs the server as the ``postgres`` OS user
when the tests run as root, since PostgreSQL refuses to run as root."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.net import free_port

DATABASE = "durapay_test"


class PostgresMissing(RuntimeError):
    """The server binaries are not installed: the PostgreSQL tests cannot honestly run."""


def _bin_dir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    if not candidates:
        raise PostgresMissing("PostgreSQL server binaries not found: apt-get install postgresql")
    return Path(candidates[-1])


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


@contextmanager
def running_postgres() -> Iterator[str]:
    """Yield the asyncpg URL of a fresh cluster's ``durapay_test`` database."""
    binaries = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="durapay-pg-"))
    data = root / "data"
    port = free_port()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        root.chmod(0o700)
    run = [*(_as_server_user([str(binaries / "pg_ctl")])), "-D", str(data), "-s"]
    try:
        subprocess.run(
            _as_server_user(
                [
                    str(binaries / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                ]
            ),
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                *run,
                "-l",
                str(root / "server.log"),
                "-w",
                "-o",
                f"-h 127.0.0.1 -p {port} -k {root} -F -c full_page_writes=off",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                str(binaries / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "-q",
                "-c",
                f"CREATE DATABASE {DATABASE}",
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{DATABASE}"
    finally:
        subprocess.run([*run, "-m", "immediate", "stop"], check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
