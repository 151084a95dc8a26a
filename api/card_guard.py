"""Refuses any request that carries something shaped like a card number.

Durapay handles tokens only. A raw PAN must never reach validation (whose errors could echo it),
a log line, or the database, so this runs before the routes, over everything a client writes: the
path (a card number in a URL would be echoed by a 404), the query string, the Idempotency-Key
header, and the body both as sent and, when it is JSON, as decoded (``"\\u0034242…"`` is the same
number to the parser as ``"4242…"``). The refusal never repeats what it refused.

It runs after the gate (``api.gate``: an anonymous caller is refused before its body is read) and
inside the body limit (``api.body_limit``: it never buffers more than 1 MiB). Provider webhooks are
exempt: they are signature-checked payloads from processors, which never contain full card
numbers.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote_plus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem
from api.route_index import ROUTE_FOUND
from services.errors import RawCardDataForbidden

EXEMPT_PREFIXES = ("/v1/webhooks/",)

_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])(?:\d[ -]?){12,18}\d(?![0-9A-Za-z])")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _grouped_like_a_card(groups: list[str]) -> bool:
    """Card numbers are written unbroken, in fours (the last group shorter for 13–19 digits), or
    4-6-5 / 4-6-4 (American Express, Diners). A UUID's 8-4-4-4-12 is none of these: without this
    rule a random UUID (a common Idempotency-Key, or an order id in metadata) was refused about
    1.5 times in 10,000, whenever three or two of its groups happened to be all digits."""
    lengths = [len(group) for group in groups]
    if len(lengths) == 1 or lengths in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(length == 4 for length in lengths[:-1]) and 1 <= lengths[-1] <= 4


def contains_card_number(text: str) -> bool:
    """True if ``text`` holds a 13–19 digit run, unbroken or grouped as cards are printed (with
    spaces or dashes), that passes Luhn."""
    for match in _CANDIDATE.finditer(text):
        groups = re.split(r"[ -]", match.group())
        digits = "".join(groups)
        if 13 <= len(digits) <= 19 and _grouped_like_a_card(groups) and _luhn_valid(digits):
            return True
    return False


def _decoded_strings(body: bytes) -> str:
    """Every key and scalar of a JSON body as the parser sees it (escapes decoded), one per line;
    empty when the body is not JSON (FastAPI refuses it then, without echoing it)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    found: list[str] = []
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            found.extend(str(key) for key in value)
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif value is not None:
            found.append(str(value))
    return "\n".join(found)


class CardGuardMiddleware:
    """Pure ASGI middleware: buffers the body, inspects it, then replays it to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        if not scope.get("state", {}).get(ROUTE_FOUND, True):
            # No route takes it (404, 405): its body is never read, so never scanned; a card
            # number in its path or query is still refused.
            await self._guarded(scope, None, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        await self._guarded(scope, b"".join(chunks), receive, send)

    async def _guarded(
        self, scope: Scope, body: bytes | None, receive: Receive, send: Send
    ) -> None:
        """Refuse the request, or pass it on with ``body`` replayed (None: left unread)."""
        if self._suspicious(scope, body or b""):
            refusal = RawCardDataForbidden(
                "Send a provider token (for example a Stripe PaymentMethod id), never a card "
                "number."
            )
            response = problem(refusal.status, refusal.code, refusal.title, refusal.detail)
            await response(scope, receive, send)
            return
        if body is None:
            await self.app(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def _suspicious(scope: Scope, body: bytes) -> bool:
        path = unquote_plus(scope["path"])
        query = unquote_plus(scope.get("query_string", b"").decode("latin-1"))
        headers = dict(scope.get("headers", []))
        key = headers.get(b"idempotency-key", b"").decode("latin-1")
        text = body.decode("utf-8", errors="replace")
        parts = (path, query, key, text, _decoded_strings(body) if body else "")
        return any(contains_card_number(part) for part in parts)
