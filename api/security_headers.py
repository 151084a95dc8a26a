"""Security headers on every answer.

Every answer: ``X-Content-Type-Options: nosniff`` (a JSON answer is never run as a script),
``X-Frame-Options: DENY`` (no page of ours inside someone else's frame) and
``Referrer-Policy: no-referrer`` (a payment link's token never leaks to the sites it links to);
in production also ``Strict-Transport-Security`` (browsers keep to HTTPS for two years).

JSON answers also get ``Content-Security-Policy: default-src 'none'; frame-ancestors 'none'``:
nothing in them may load or run anything. HTML pages keep their own policy (``/docs`` sets one;
the payment page loads Stripe.js and sets what it needs), so none is imposed on them here.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
JSON_POLICY = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, https_only: bool) -> None:
        self.app = app
        self.added = [*ALWAYS, HSTS] if https_only else list(ALWAYS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in self.added if name not in present]
                content_type = dict(headers).get(b"content-type", b"")
                if b"json" in content_type and JSON_POLICY[0] not in present:
                    headers.append(JSON_POLICY)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
