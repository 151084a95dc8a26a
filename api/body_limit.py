"""Request bodies over ``MAX_BODY_BYTES`` are refused with 413 ``payload_too_large`` while they
are read, never after: a declared ``Content-Length`` over the limit is refused before a byte of
the body is read, and a body without one (chunked) is counted as it arrives and refused at the
first chunk past the limit. Nothing downstream (the card guard, a webhook route's
``request.body()``) can buffer more than the limit, so a 100 MiB upload costs the process at most
one chunk over 1 MiB of memory.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem
from services.errors import PayloadTooLarge

MAX_BODY_BYTES = 1024 * 1024
"""1 MiB, as the contract says; far above any request Durapay or a provider's event needs."""


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(f"Request bodies are limited to {MAX_BODY_BYTES} bytes.")


class BodyLimitMiddleware:
    """Pure ASGI: wraps ``receive`` so that the body's running size is checked on every chunk.

    Past the limit the wrapped ``receive`` raises ``PayloadTooLarge``: a route reading its body
    gets it from FastAPI's error handlers as a 413; a middleware reading it (the card guard) lets
    it rise to here, where the 413 is sent unless an answer has already begun."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            await _refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY_BYTES:
                    raise _too_large()
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except PayloadTooLarge:
            if started:
                raise
            await _refuse(scope, receive, send)


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    """The rest of the body is never read: the server closes the connection after the answer."""
    error = _too_large()
    await problem(error.status, error.code, error.title, error.detail)(scope, receive, send)
