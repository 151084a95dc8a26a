"""An HTTP proxy between Durapay's provider clients and a provider stand-in, for fault injection.

Tests put it in front of localstripe (or the PayPal sandbox) and tell it what to do with requests
whose method and path match a rule. Today it knows one fault, the one the crash tests need:
``hold`` a matching request without forwarding it, so a test can kill the caller at exactly that
moment. Requests matching no rule are forwarded unchanged.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from aiohttp import ClientSession, web

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class HoldRule:
    method: str
    path: re.Pattern[str]
    held: asyncio.Event = field(default_factory=asyncio.Event)


class FaultProxy:
    """Forwards to ``target`` except where a rule says otherwise."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self._holds: list[HoldRule] = []
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self.url = ""

    def hold(self, method: str, path_pattern: str) -> HoldRule:
        """Hold matching requests (never forwarded) until :meth:`release_all`."""
        rule = HoldRule(method.upper(), re.compile(path_pattern))
        self._holds.append(rule)
        return rule

    def release_all(self) -> None:
        """Stop holding: held requests are dropped, later ones are forwarded again."""
        self._holds.clear()
        self._release.set()

    async def start(self, port: int) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._session = ClientSession()
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        for rule in self._holds:
            if request.method == rule.method and rule.path.fullmatch(request.path):
                rule.held.set()
                await self._release.wait()
                return web.Response(status=503, text="dropped by fault proxy")
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        async with self._session.request(
            request.method,
            f"{self.target}{request.path_qs}",
            headers=headers,
            data=await request.read(),
        ) as upstream:
            body = await upstream.read()
            reply_headers = {
                k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP
            }
            return web.Response(status=upstream.status, body=body, headers=reply_headers)
