"""The fault proxy signals a match only once the whole request is in, and then acts on it whether
or not the caller still listens: tests SIGKILL a worker on ``matched``, and the request the worker
had sent in full must still reach the provider (or, cut short, count as never sent)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web

from sandbox.faults.proxy import Fault, FaultProxy
from tests.support.net import free_port

CONFIRM = "/v1/payment_intents/pi_1/confirm"
BODY = b"off_session=true"
HEAD = (
    f"POST {CONFIRM} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(BODY)}\r\n\r\n"
).encode()


@dataclass
class Proxied:
    proxy: FaultProxy
    port: int
    received: list[bytes]
    """The bodies the provider behind the proxy got."""
    reached: asyncio.Event


@pytest.fixture
async def proxied() -> AsyncIterator[Proxied]:
    received: list[bytes] = []
    reached = asyncio.Event()

    async def provider(request: web.Request) -> web.Response:
        received.append(await request.read())
        reached.set()
        return web.json_response({"status": "succeeded"})

    app = web.Application()
    app.router.add_post(CONFIRM, provider)
    runner = web.AppRunner(app)
    await runner.setup()
    target_port, proxy_port = free_port(), free_port()
    await web.TCPSite(runner, "127.0.0.1", target_port).start()
    proxy = FaultProxy(f"http://127.0.0.1:{target_port}")
    await proxy.start(proxy_port)
    try:
        yield Proxied(proxy, proxy_port, received, reached)
    finally:
        await proxy.stop()
        await runner.cleanup()


async def test_a_caller_killed_on_the_match_still_reaches_the_provider(proxied: Proxied) -> None:
    dropped = proxied.proxy.add(Fault.DROP_RESPONSE, "POST", CONFIRM)
    _, writer = await asyncio.open_connection("127.0.0.1", proxied.port)
    writer.write(HEAD)
    await writer.drain()
    await asyncio.sleep(0.2)
    assert not dropped.matched.is_set(), "matched on the headers alone"

    writer.write(BODY)
    await asyncio.wait_for(dropped.matched.wait(), timeout=5)
    writer.transport.abort()

    await asyncio.wait_for(proxied.reached.wait(), timeout=5)
    assert proxied.received == [BODY]


async def test_a_caller_killed_before_its_body_made_no_request(proxied: Proxied) -> None:
    dropped = proxied.proxy.add(Fault.DROP_RESPONSE, "POST", CONFIRM)
    _, writer = await asyncio.open_connection("127.0.0.1", proxied.port)
    writer.write(HEAD)
    await writer.drain()
    await asyncio.sleep(0.2)
    writer.transport.abort()
    await asyncio.sleep(0.2)

    assert (dropped.hits, proxied.proxy.forwarded, proxied.received) == (0, [], [])
