"""``python -m sandbox.mailsink`` as ``make dev`` runs it: what it accepts lands in ``--dir``."""

from __future__ import annotations

import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from tests.support.mail import received_messages
from tests.support.net import free_port, wait_for_port

REPO = Path(__file__).resolve().parents[3]


async def test_module_stores_each_message_as_an_eml_file(tmp_path: Path) -> None:
    port = free_port()
    mail_dir = tmp_path / "mail"
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.mailsink", "--port", str(port), "--dir", str(mail_dir)],
        cwd=REPO,
    )
    try:
        wait_for_port(port, timeout=20)
        for subject in ("first", "second"):
            message = EmailMessage()
            message["From"] = "billing@durapay.localhost"
            message["To"] = "ada@example.com"
            message["Subject"] = subject
            message.set_content(".a line starting with a dot\n")
            await aiosmtplib.send(message, hostname="127.0.0.1", port=port)
    finally:
        process.terminate()
        process.wait(timeout=10)
    stored = received_messages(mail_dir)
    assert [m["Subject"] for m in stored] == ["first", "second"]
    assert stored[0].get_content().splitlines() == [".a line starting with a dot"], "unstuffed"
    assert [p.suffix for p in mail_dir.iterdir()] == [".eml", ".eml"]
