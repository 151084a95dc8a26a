"""``/docs`` and ``/redoc`` work on a machine without internet, "Try it out" sends the API key
entered in "Authorize", and the pages are off when the setting says.

A real headless Chromium (Debian's ``chromium``, driven through ``chromium-driver`` where a test
clicks) renders the pages with every request that would leave 127.0.0.1 sent to a proxy that
refuses it, so a page that needed the internet would render nothing; Chromium's network log then
names every request the page made (its initiator is the API's origin, unlike the browser's own
update and sign-in checks, which the proxy refuses too). The API is served without its lifespan
(no database or Temporal): the pages, their assets and the schema need neither, and the calls
"Try it out" makes are written down rather than answered by the routes.
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
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.main import create_app
from settings import Environment, Settings
from tests.support.net import free_port, wait_for_port

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
PLANS = {"data": [], "has_more": False}


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


class CallsRecorded:
    """The API app, except that calls of ``/v1/…`` routes are written down and answered with an
    empty page: the tests look at what the browser sent, which needs no database."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.calls: list[Request] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            self.calls.append(Request(scope))
            await JSONResponse(PLANS)(scope, receive, send)
            return
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def api() -> CallsRecorded:
    return CallsRecorded(create_app(Settings(environment=Environment.TEST)))


@pytest.fixture(scope="module")
def docs_url(api: CallsRecorded) -> Iterator[str]:
    """The API with its docs on, served over HTTP from a thread."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            api,
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


@pytest.fixture
def browser(outside_world: OutsideWorld, tmp_path: Path) -> Iterator[webdriver.Chrome]:
    """Chromium driven as a person would use it (Debian's chromium-driver)."""
    if CHROMIUM is None or CHROMEDRIVER is None:
        raise RuntimeError("apt-get install chromium chromium-driver (.ci/run does)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1280,2000",
        f"--proxy-server={outside_world.url}",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=ChromeService(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def test_try_it_out_sends_the_key_entered_in_authorize(
    docs_url: str, api: CallsRecorded, browser: webdriver.Chrome
) -> None:
    wait = WebDriverWait(browser, 30)

    def click(selector: str) -> None:
        wait.until(expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, selector))).click()

    browser.get(f"{docs_url}/docs#/plans/list_plans_v1_plans_get")
    click("button.btn.authorize")
    field = wait.until(
        expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, ".modal-ux input"))
    )
    field.send_keys("sk_typed_in_docs")
    click(".modal-ux button.authorize")
    click(".modal-ux button.btn-done")
    click("#operations-plans-list_plans_v1_plans_get button.try-out__btn")
    click("#operations-plans-list_plans_v1_plans_get button.execute")
    wait.until(lambda _: api.calls)

    (call,) = api.calls
    assert (call.method, call.url.path) == ("GET", "/v1/plans")
    assert call.headers["authorization"] == "Bearer sk_typed_in_docs"


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
