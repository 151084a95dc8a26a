"""Fixtures for the PayPal sandbox tests: the sandbox and a webhook receiver, each served by
uvicorn on a free 127.0.0.1 port in a thread, and the official ``paypalserversdk`` client pointed
at the sandbox. The client is synchronous, so most tests are plain synchronous tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.paypal import SandboxConfig, create_app
from tests.support.net import free_port
from tests.support.sandbox import WEBHOOK_ID, Receiver, sdk_client, serving


@pytest.fixture(scope="session")
def receiver() -> Iterator[tuple[Receiver, str]]:
    hook = Receiver()
    with serving(hook.app, free_port()) as url:
        yield hook, url + "/"


@pytest.fixture(scope="session")
def sandbox_url(receiver: tuple[Receiver, str]) -> Iterator[str]:
    port = free_port()
    config = SandboxConfig(
        public_url=f"http://127.0.0.1:{port}", webhook_url=receiver[1], webhook_id=WEBHOOK_ID
    )
    with serving(create_app(config), port) as url:
        yield url


@pytest.fixture(scope="session")
def paypal(sandbox_url: str) -> Any:
    """The official SDK client with the sandbox's dev credentials."""
    defaults = SandboxConfig()
    return sdk_client(sandbox_url, defaults.client_id, defaults.client_secret)


@pytest.fixture
def hooks(receiver: tuple[Receiver, str]) -> Receiver:
    return receiver[0]
