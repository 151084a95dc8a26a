"""The gate every request passes before anything reads its body: who is calling, and whether they
are within their rate limit.

A route that needs an API key (its dependencies include ``api.deps.authenticated``) is refused
here with 401 when the key is missing or unknown, so an anonymous caller can never make the card
guard scan a body; the caller found is left in the request's state for the route's own
dependency, so a request reads its key once.

Budgets (``services.rate_limits``): per API key; on the public payment-link routes
(``/v1/public/payment/{token}…``) per token and client IP, viewing (GET) and acting apart; per
client IP for the rest (health, metrics, the docs). Provider webhooks are not counted: they carry
no key, arrive in bursts from a provider's few addresses, and a refused one is only redelivered
later; they are bounded by size and by their signature instead. Every counted answer carries the
``RateLimit-*`` headers; a refused one is 429 ``rate_limited`` with ``Retry-After``.
"""

from __future__ import annotations

import re

from limits import RateLimitItem
from sqlalchemy import exc as sa_exc
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import BEARER_PREFIX, authenticated
from api.errors import DATABASE_UNAVAILABLE, database_error_answer, problem
from api.problems import depends_on
from api.route_index import ROUTE_FOUND, RouteIndex, RouteMatch
from services.api_keys import authenticate
from services.errors import AppError, RateLimited, Unauthorized
from services.rate_limits import RateLimiter, Verdict
from services.runtime import Runtime

PUBLIC_PAYMENT = re.compile(r"^/v1/public/payment/(?P<token>[^/]+)")
UNCOUNTED_PREFIXES = ("/v1/webhooks/",)
VIEWING = frozenset({"GET", "HEAD", "OPTIONS"})
DATABASE_ERRORS = (*DATABASE_UNAVAILABLE, sa_exc.DBAPIError)


class GateMiddleware:
    """Pure ASGI: authenticates and counts, then lets the request through with the
    ``RateLimit-*`` headers added to its answer, or answers 401 or 429 itself."""

    def __init__(self, app: ASGIApp, routes: RouteIndex, limiter: RateLimiter) -> None:
        self.app = app
        self.routes = routes
        self.limiter = limiter
        self._needs_key: dict[tuple[str, str], bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNCOUNTED_PREFIXES):
            await self.app(scope, receive, send)
            return
        try:
            verdict = await self._count(scope)
        except AppError as error:
            await problem(error.status, error.code, error.title, error.detail)(scope, receive, send)
            return
        except DATABASE_ERRORS as error:
            await database_error_answer(Request(scope), error)(scope, receive, send)
            return
        if not verdict.allowed:
            refused = RateLimited(f"Too many requests: retry in {verdict.reset_after} s.")
            answer = problem(refused.status, refused.code, refused.title, refused.detail)
            answer.raw_headers.extend(verdict.headers())
            await answer(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *verdict.headers()]
            await send(message)

        await self.app(scope, receive, with_headers)

    async def _count(self, scope: Scope) -> Verdict:
        """The request's verdict; raises ``Unauthorized`` for a route that needs a key and got
        no usable one, and the database's error when the key cannot be looked up now."""
        budgets = self.limiter.budgets
        client_ip = (scope.get("client") or ("unknown",))[0]
        route = self.routes.find(scope)
        state = scope.setdefault("state", {})
        state[ROUTE_FOUND] = route is not None
        public = PUBLIC_PAYMENT.match(scope["path"])
        if public is not None:
            budget: RateLimitItem = (
                budgets.public_view if scope["method"] in VIEWING else budgets.public_action
            )
            per_token = await self.limiter.hit(budget, "public", public["token"], client_ip)
            # A new token is a new budget: the IP's own budget bounds a caller who invents them.
            per_ip = await self.limiter.hit(budgets.api, "ip", client_ip)
            return per_ip if per_token.allowed and not per_ip.allowed else per_token
        if not self._needs_key_for(route, scope["method"]):
            return await self.limiter.hit(budgets.api, "ip", client_ip)
        runtime: Runtime = scope["app"].state.runtime
        header = dict(scope.get("headers", [])).get(b"authorization", b"").decode("latin-1")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != BEARER_PREFIX or not key.strip():
            raise Unauthorized("Send 'Authorization: Bearer <api key>'.")
        # Unknown keys are counted per IP, and looked up only while that IP is within its
        # budget: guessing keys costs the database at most the API rate.
        guessing = await self.limiter.peek(budgets.api, "unknown-key", client_ip)
        if not guessing.allowed:
            return guessing
        try:
            principal = await authenticate(
                runtime.database, key.strip(), runtime.settings.api_key_secret
            )
        except Unauthorized:
            await self.limiter.hit(budgets.api, "unknown-key", client_ip)
            raise
        state["principal"], state["api_key_id"] = principal, principal.key_id
        return await self.limiter.hit(budgets.api, "key", principal.key_id)

    def _needs_key_for(self, route: RouteMatch | None, method: str) -> bool:
        """Whether the route the request will reach depends on an API key; a request no route
        takes (404, 405) needs none and is counted by IP."""
        if route is None or route.dependant is None:
            return False
        needs = self._needs_key.get((route.path_format, method))
        if needs is None:
            needs = depends_on(route.dependant, authenticated)
            self._needs_key[route.path_format, method] = needs
        return needs
