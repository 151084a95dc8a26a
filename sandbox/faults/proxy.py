"""An HTTP proxy between Durapay's provider clients and a provider stand-in, for fault injection.

Tests put it in front of localstripe (or the PayPal sandbox) and add rules: requests whose method
and path match a rule get its fault, for the first ``times`` matches (or all of them). Faults:

- ``hold``: never forwarded, answered only when released (to kill the caller at that moment);
- ``delay``: forwarded after a pause;
- ``status``: answered with an error status (5xx, 429) without forwarding, or with a given JSON
  body (a card decline that real issuers give and localstripe's test cards do not), and any
  headers the real provider adds (``Retry-After`` on a 429);
- ``reset``: the connection is cut before forwarding — the provider saw nothing;
- ``drop_response``: forwarded, and the connection cut instead of answering — the provider moved
  money and the caller never heard. The dangerous one.

With ``replay_idempotent`` it also does what real Stripe does and localstripe does not: a request
repeating an ``Idempotency-Key`` gets the stored response of the first one, without forwarding.
Requests matching no rule are forwarded unchanged.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from enum import StrEnum

from aiohttp import ClientSession, web

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class Fault(StrEnum):
    HOLD = "hold"
    DELAY = "delay"
    STATUS = "status"
    RESET = "reset"
    DROP_RESPONSE = "drop_response"


@dataclass
class Rule:
    """One fault for matching requests; ``matched`` is set at the first match, once the whole
    request is at the proxy: a caller killed then has sent it, and what the fault does with it
    (forward it, drop the answer) happens whether or not the caller still listens."""

    fault: Fault
    method: str
    path: re.Pattern[str]
    times: int | None = None
    status: int = 503
    seconds: float = 0.0
    body: dict[str, object] | None = None
    headers: dict[str, str] | None = None
    hits: int = 0
    matched: asyncio.Event = field(default_factory=asyncio.Event)

    def applies_to(self, request: web.Request) -> bool:
        spent = self.times is not None and self.hits >= self.times
        return (
            not spent and request.method == self.method and bool(self.path.fullmatch(request.path))
        )


@dataclass(frozen=True)
class _Stored:
    status: int
    body: bytes
    headers: dict[str, str]


class FaultProxy:
    """Forwards to ``target`` except where a rule says otherwise."""

    def __init__(self, target: str, *, replay_idempotent: bool = False) -> None:
        self.target = target.rstrip("/")
        self.replay_idempotent = replay_idempotent
        self.rules: list[Rule] = []
        self.forwarded: list[tuple[str, str]] = []
        self._release = asyncio.Event()
        self._stored: dict[tuple[str, str, str], _Stored] = {}
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self.url = ""

    def add(
        self,
        fault: Fault,
        method: str,
        path_pattern: str,
        *,
        times: int | None = None,
        status: int = 503,
        seconds: float = 0.0,
        body: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Rule:
        rule = Rule(
            fault, method.upper(), re.compile(path_pattern), times, status, seconds, body, headers
        )
        self.rules.append(rule)
        return rule

    def release_all(self) -> None:
        """Drop every rule; held requests are answered 503 (never forwarded). A hold added later
        holds again."""
        self.rules.clear()
        self._release.set()
        self._release = asyncio.Event()

    async def start(self, port: int) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._session = ClientSession()
        # A caller that hangs up must not stop a request already on its way to the provider.
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=False)
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
        # The whole request before any rule: aiohttp runs the handler once the headers are in,
        # and a body still unread when the caller dies (a test kills it on ``matched``) can
        # never be read, so a request the rule said it had would never reach the provider.
        body = await request.read()
        rule = next((r for r in self.rules if r.applies_to(request)), None)
        if rule is not None:
            rule.hits += 1
            rule.matched.set()
        fault = rule.fault if rule is not None else None
        if fault is Fault.HOLD:
            await self._release.wait()
            return web.Response(status=503, text="dropped by fault proxy")
        if fault is Fault.STATUS:
            assert rule is not None
            answer = rule.body or {"error": {"message": "injected fault"}}
            return web.json_response(answer, status=rule.status, headers=rule.headers)
        if fault is Fault.RESET:
            return _cut(request)
        if fault is Fault.DELAY:
            assert rule is not None
            await asyncio.sleep(rule.seconds)
        stored = await self._forward(request, body)
        if fault is Fault.DROP_RESPONSE:
            return _cut(request)
        return web.Response(status=stored.status, body=stored.body, headers=stored.headers)

    async def _forward(self, request: web.Request, body: bytes) -> _Stored:
        key = request.headers.get("Idempotency-Key")
        replay_key = (request.method, request.path, key) if key else None
        if self.replay_idempotent and replay_key in self._stored:
            return self._stored[replay_key]
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        self.forwarded.append((request.method, request.path))
        async with self._session.request(
            request.method,
            f"{self.target}{request.path_qs}",
            headers=headers,
            data=body,
        ) as upstream:
            stored = _Stored(
                status=upstream.status,
                body=await upstream.read(),
                headers={k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP},
            )
        if replay_key is not None and stored.status < 500:
            self._stored[replay_key] = stored
        return stored


def _cut(request: web.Request) -> web.StreamResponse:
    """Abort the connection: the client sees a reset, never a response."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    return web.Response(status=499)
