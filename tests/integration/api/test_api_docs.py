"""``/docs`` and ``/redoc`` work on a machine without internet, and are off when the setting says.

A real headless Chromium (Debian's ``chromium``) renders the pages with every request that would
leave 127.0.0.1 sent to a proxy that refuses it, so a page that needed the internet would render
nothing; Chromium's network log then names every request the page made (its initiator is the
API's origin, unlike the browser's own update and sign-in checks, which the proxy refuses too).
The API is served without its lifespan (no database or Temporal): the pages, their assets and the
schema need neither.
"""

from __future__ import annotations

import json
import re
import shutil
import socketserver
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn

from api.main import create_app
from settings import Environment, Settings
from tests.support.net import free_port, wait_for_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class _Refusing(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.rfile.readline(4096)
        self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")


class OutsideWorld(socketserver.ThreadingTCPServer):
    """Stands in for the internet as Chromium's proxy, refusing everything (Chromium never
    proxies loopback addresses)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Refusing)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture(scope="module")
def docs_url() -> Iterator[str]:
    """The API with its docs on, served over HTTP from a thread."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(Settings(environment=Environment.TEST)),
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, name="docs-api", daemon=True)
    thread.start()
    wait_for_port(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def outside_world() -> Iterator[OutsideWorld]:
    with OutsideWorld() as world:
        thread = threading.Thread(target=world.serve_forever, daemon=True)
        thread.start()
        try:
            yield world
        finally:
            world.shutdown()


@dataclass(frozen=True)
class Rendered:
    dom: str
    """The page's DOM once its scripts have run."""
    requested: list[str]
    """Every URL the page itself asked for (scripts, styles, the schema, images, fonts)."""


def render(url: str, proxy: str, directory: Path) -> Rendered:
    if CHROMIUM is None:
        raise RuntimeError("these tests need Chromium: apt-get install chromium (.ci/run does)")
    net_log = directory / "net-log.json"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",  # as root, where CI runs
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        f"--user-data-dir={directory / 'profile'}",
        f"--proxy-server={proxy}",
        f"--log-net-log={net_log}",
        "--virtual-time-budget=20000",
        "--dump-dom",
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    log = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    requested = [
        event["params"]["url"]
        for event in log["events"]
        if event["type"] == start_job and event.get("params", {}).get("initiator") == origin
    ]
    return Rendered(done.stdout, requested)


@pytest.mark.parametrize(
    ("page", "operation_rendered"),
    [
        ("/docs", re.compile(r'class="opblock-summary-path"[^>]*>.*?/v1/payments/')),
        ("/redoc", re.compile(r"Create Payment")),
    ],
)
def test_the_docs_render_every_operation_from_this_machine_alone(
    docs_url: str,
    outside_world: OutsideWorld,
    tmp_path: Path,
    page: str,
    operation_rendered: re.Pattern[str],
) -> None:
    rendered = render(docs_url + page, outside_world.url, tmp_path)

    assert operation_rendered.search(rendered.dom), rendered.dom[:2000]
    for operation in ("Create Refund", "Create Subscription", "Stripe Webhook"):
        assert operation in rendered.dom
    assert f"{docs_url}/openapi.json" in rendered.requested
    elsewhere = [url for url in rendered.requested if not url.startswith(docs_url + "/")]
    assert elsewhere == []


def test_swagger_ui_offers_the_api_key_and_sends_it_as_a_bearer(
    docs_url: str, outside_world: OutsideWorld, tmp_path: Path
) -> None:
    rendered = render(docs_url + "/docs", outside_world.url, tmp_path)

    assert re.search(r'class="btn authorize[^"]*"', rendered.dom), "no Authorize button"
    scheme = httpx.get(docs_url + "/openapi.json").json()["components"]["securitySchemes"]
    assert scheme["ApiKey"] | {"description": ""} == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "sk_…",
        "description": "",
    }


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_every_asset_a_page_references_is_served_here(docs_url: str, page: str) -> None:
    with httpx.Client(base_url=docs_url) as client:
        html = client.get(page).text
        references = re.findall(r'(?:src|href|spec-url)="([^"]+)"', html)
        references += re.findall(r"url: '([^']+)'", html)
        assert len(references) >= 3, html
        for reference in references:
            assert not urlsplit(reference).netloc, f"{page} loads {reference} from elsewhere"
            assert client.get(reference).status_code == 200, reference


async def test_the_docs_and_the_schema_are_off_when_the_setting_says() -> None:
    app = create_app(Settings(environment=Environment.TEST, api_docs=False))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://durapay") as client:
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/assets/swagger-ui-bundle.js"):
            response = await client.get(path)
            assert (response.status_code, response.json()["code"]) == (404, "not_found"), path
