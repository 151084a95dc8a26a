"""``make dev`` on free ports: the README's example requests work, the payment is searchable in
Temporal by CustomerId with the summary the README shows, /health sees the worker, every log is
JSON lines with no customer's email or name in any of them, and Ctrl-C stops every child process."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
from google.protobuf import json_format
from temporalio.client import Client

from contracts.payments import PaymentState
from contracts.workflow_names import STATE_QUERY
from tests.support.codec import TEST_CONVERTER
from tests.support.net import free_port, port_is_closed

ROOT = Path(__file__).resolve().parents[2]
READY = "Durapay dev stack is up"
# What examples/quickstart.sh sends as the customer: none of it may reach a log.
PERSONAL_DATA = ("ada@example.com", "ada%40example.com", "Ada Lovelace", "Ada+Lovelace")


def read_until(
    process: subprocess.Popen[str], marker: str, timeout: float, sink: list[str]
) -> None:
    found = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            sink.append(line)
            if marker in line:
                found.set()

    threading.Thread(target=pump, daemon=True).start()
    if not found.wait(timeout):
        raise AssertionError("make dev did not come up:\n" + "".join(sink[-40:]))


async def test_make_dev_serves_the_readme_example(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("api", "temporal", "ui", "stripe", "paypal", "smtp")}
    env = {
        **os.environ,
        "DURAPAY_DATA_DIR": str(tmp_path / "data"),
        "DURAPAY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'data' / 'durapay.db'}",
        "DURAPAY_API_PORT": str(ports["api"]),
        "DURAPAY_TEMPORAL_ADDRESS": f"127.0.0.1:{ports['temporal']}",
        "DURAPAY_TEMPORAL_UI_PORT": str(ports["ui"]),
        "DURAPAY_STRIPE_API_BASE": f"http://127.0.0.1:{ports['stripe']}",
        "DURAPAY_PAYPAL_API_BASE": f"http://127.0.0.1:{ports['paypal']}",
        "DURAPAY_SMTP_PORT": str(ports["smtp"]),
    }
    output: list[str] = []
    stack = subprocess.Popen(
        ["make", "--no-print-directory", "dev"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        read_until(stack, READY, 180, output)
        example = subprocess.run(
            ["bash", "examples/quickstart.sh"],
            cwd=ROOT,
            env={
                **env,
                "DURAPAY_API": f"http://127.0.0.1:{ports['api']}",
                "DURAPAY_STRIPE": f"http://127.0.0.1:{ports['stripe']}",
            },
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert example.returncode == 0, example.stdout + example.stderr
        assert "captured: succeeded" in example.stdout
        assert "refund: succeeded" in example.stdout
        assert "amount_refunded: 1000" in example.stdout
        customer = re.search(r"customer (cus_\w+)", example.stdout)
        payment = re.search(r"payment (pay_\w+)", example.stdout)
        assert customer and payment

        client = await Client.connect(
            f"127.0.0.1:{ports['temporal']}", data_converter=TEST_CONVERTER
        )
        found: list[str] = []
        deadline = time.monotonic() + 30
        while not found and time.monotonic() < deadline:
            found = [
                execution.id
                async for execution in client.list_workflows(f'CustomerId = "{customer.group(1)}"')
            ]
            await asyncio.sleep(0.5)
        assert payment.group(1) in found
        handle = client.get_workflow_handle(payment.group(1))
        summary = await (await handle.describe()).static_summary()
        assert summary is not None
        readme = (ROOT / "README.md").read_text()
        assert f"*{summary.replace(customer.group(1), 'cus_…')}*" in readme, summary
        state = await handle.query(STATE_QUERY, result_type=PaymentState)
        assert re.fullmatch(r"open for refunds until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", state.step)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['api']}") as api:
            health = (await api.get("/health", timeout=10)).json()
        assert health["checks"]["worker"] == "ok"
        await the_ui_reads_payloads_through_the_codec(ports, payment.group(1))
    finally:
        os.killpg(stack.pid, signal.SIGINT)
        stack.wait(timeout=60)
    for name, port in ports.items():
        assert port_is_closed(port), f"{name} still listening on {port} after Ctrl-C"
    leftovers = subprocess.run(
        ["pgrep", "-f", str(tmp_path)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert leftovers == []
    logs = sorted((tmp_path / "data" / "logs").glob("*.log"))
    assert {path.name for path in logs} >= {"api.log", "worker.log", "temporal.log"}
    for text in ["".join(output), *(path.read_text(errors="replace") for path in logs)]:
        for personal in PERSONAL_DATA:
            assert personal.lower() not in text.lower()
    access = [json.loads(line) for line in (tmp_path / "data" / "logs" / "api.log").open()]
    captures = [
        line
        for line in access
        if line.get("logger") == "durapay.access"
        and line["route"] == "/v1/payments/{payment_id}/capture"
    ]
    assert len(captures) == 1
    assert captures[0]["status"] == 200
    assert captures[0]["api_key_id"] == "key_dev_client"
    assert captures[0]["request_id"] and captures[0]["duration_ms"] > 0
    assert all(json.loads(line) for line in (tmp_path / "data" / "logs" / "worker.log").open())


async def the_ui_reads_payloads_through_the_codec(ports: dict[str, int], payment_id: str) -> None:
    """The UI is configured with the API's codec endpoint, and a call as its browser makes it
    (from the UI's origin, no key: the dev UI has no login) decrypts the payment's input."""
    ui_origin = f"http://127.0.0.1:{ports['ui']}"
    async with httpx.AsyncClient(timeout=10) as http:
        ui_settings = (await http.get(f"{ui_origin}/api/v1/settings")).json()
        assert ui_settings["Codec"]["Endpoint"] == f"http://127.0.0.1:{ports['api']}/codec"
        raw = await Client.connect(f"127.0.0.1:{ports['temporal']}")
        history = await raw.get_workflow_handle(payment_id).fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        sealed = json_format.MessageToDict(started.input)
        decoded = await http.post(
            f"{ui_settings['Codec']['Endpoint']}/decode",
            json=sealed,
            headers={"Origin": ui_origin, "X-Namespace": "default"},
        )
    assert decoded.status_code == 200, decoded.text
    assert decoded.headers["access-control-allow-origin"] == ui_origin
    [payload] = decoded.json()["payloads"]
    assert payment_id in base64.b64decode(payload["data"]).decode()
