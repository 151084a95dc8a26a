"""A second ``make dev`` (or anything else on the stack's ports) is told which port is taken and
which setting moves it, before anything starts; it used to say only "temporal exited with code
1"."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.support.net import free_port
from tests.support.processes import ROOT


def test_the_dev_stack_names_the_port_in_use_and_starts_nothing(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("api", "temporal", "ui", "stripe", "paypal", "smtp")}
    env = {
        **os.environ,
        "DURAPAY_ENVIRONMENT": "dev",
        "DURAPAY_DATA_DIR": str(tmp_path / "data"),
        "DURAPAY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'data' / 'durapay.db'}",
        "DURAPAY_API_PORT": str(ports["api"]),
        "DURAPAY_TEMPORAL_ADDRESS": f"127.0.0.1:{ports['temporal']}",
        "DURAPAY_TEMPORAL_UI_PORT": str(ports["ui"]),
        "DURAPAY_STRIPE_API_BASE": f"http://127.0.0.1:{ports['stripe']}",
        "DURAPAY_PAYPAL_API_BASE": f"http://127.0.0.1:{ports['paypal']}",
        "DURAPAY_SMTP_PORT": str(ports["smtp"]),
    }
    with socket.socket() as first_stack:
        first_stack.bind(("127.0.0.1", ports["temporal"]))
        first_stack.listen()
        second = subprocess.run(
            [sys.executable, "-m", "sandbox.devstack"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert second.returncode == 1
    said = second.stdout + second.stderr
    assert f"127.0.0.1:{ports['temporal']} (Temporal, DURAPAY_TEMPORAL_ADDRESS)" in said
    assert "another `make dev`" in said
    assert not (tmp_path / "data" / "durapay.db").exists(), "nothing starts, not even migrations"
    assert not list((tmp_path / "data" / "logs").glob("*.log"))
