"""One audit entry for every request that may change something (``services.audit_trail``).

Before the route runs the caller is made the current actor (their API key, their IP, the request
id), so a service that writes its change also writes the entry in that transaction. After the
answer, a request no service recorded gets its entry here: its action from the route
(``action_of``), the resource it named (the path's id, or the id of what it created) and its
HTTP status; a refused request's problem ``code`` is kept in ``details``, never anything the
caller sent. A failed request is recorded here too: its transaction, and any entry in it, rolled
back; unless a service committed the request's entry in a transaction of its own (``record``),
which stays.

Not recorded: provider webhooks (every delivery is kept in ``webhook_events``), requests without
an account (401, a route nobody has), and the POSTs that change nothing (``UNCHANGING``). The
public payment-link routes know their account only once their token is read: their service
records with ``append_change``, as the public token's actor.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re

from asgi_correlation_id import correlation_id
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.route_index import RouteIndex
from contracts.audit import ActorType, AuditRecord
from services import audit
from services.actor import Actor, acting
from services.api_keys import Principal
from services.audit_trail import Detail
from services.database import Database
from services.runtime import Runtime

log = logging.getLogger("durapay.audit")

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UNCHANGING = ("/v1/webhooks/", "/codec/", "/v1/risk/evaluate")
"""Prefixes of POST routes that change nothing of the account's (or are logged elsewhere)."""

ACTIONS = {
    ("POST", "/v1/payments/{payment_id}/refunds"): "refund.create",
    ("DELETE", "/v1/admin/api-keys/{key_id}"): "api_key.revoke",
    ("PUT", "/v1/admin/risk/rules"): "risk_rules.update",
    (
        "POST",
        "/v1/customers/{customer_id}/payment-methods/{method_id}/default",
    ): "payment_method.set_default",
}
"""Where the rule of ``action_of`` would name an action less well than the contract does."""

_SKIPPED_SEGMENTS = frozenset({"v1", "admin", "public"})
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}


def _singular(segment: str) -> str:
    name = segment.replace("-", "_")
    if name.endswith("ies"):
        return name[:-3] + "y"
    return name[:-1] if name.endswith("s") else name


def action_of(method: str, path_format: str) -> str:
    """``<resource>.<verb>`` from the route: ``POST /v1/payments`` → ``payment.create``,
    ``POST /v1/payments/{payment_id}/capture`` → ``payment.capture``, ``PATCH
    /v1/customers/{customer_id}`` → ``customer.update``."""
    if (method, path_format) in ACTIONS:
        return ACTIONS[method, path_format]
    parts = [p for p in path_format.split("/") if p and p not in _SKIPPED_SEGMENTS]
    is_param = [p.startswith("{") for p in parts]
    if len(parts) >= 3 and is_param[-2] and not is_param[-1]:
        return f"{_singular(parts[-3])}.{parts[-1].replace('-', '_')}"
    if is_param[-1] and len(parts) >= 2:
        verb = "delete" if method == "DELETE" else "update"
        return f"{_singular(parts[-2])}.{verb}"
    return f"{_singular(parts[-1])}.{_VERBS.get(method, method.lower())}"


_ID_PARAM = re.compile(r"_id$|^id$|^token$")


class AuditMiddleware:
    """Pure ASGI, inside the gate (which found the caller) and outside the card guard (whose
    refusals are recorded as such)."""

    def __init__(self, app: ASGIApp, routes: RouteIndex, writer: AuditWriter) -> None:
        self.app = app
        self.routes = routes
        self.writer = writer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in MUTATING
            or scope["path"].startswith(UNCHANGING)
        ):
            await self.app(scope, receive, send)
            return
        principal: Principal | None = scope.get("state", {}).get("principal")
        client = scope.get("client")
        actor = Actor(
            type=ActorType.API_KEY if principal else ActorType.PUBLIC_TOKEN,
            id=principal.key_id if principal else None,
            ip=client[0] if client else None,
            request_id=correlation_id.get(),
        )
        status = 500
        body: list[bytes] = []

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
            await send(message)

        with acting(actor):
            try:
                await self.app(scope, receive, watched)
            finally:
                if (
                    principal is not None
                    and not actor.committed
                    and (not actor.recorded or status >= 400)
                ):
                    self._record(scope, principal, actor, status, b"".join(body))

    def _record(
        self, scope: Scope, principal: Principal, actor: Actor, status: int, body: bytes
    ) -> None:
        route = self.routes.find(scope)
        path_format = route.path_format if route else scope["path"]
        answer = _json_object(body)
        params = route.path_params if route else {}
        named = [str(v) for k, v in params.items() if _ID_PARAM.search(k)]
        action = action_of(scope["method"], path_format)
        created = answer.get("id") if action.endswith(".create") and status < 400 else None
        resource_id = str(created) if created else (named[-1] if named else None)
        details: dict[str, Detail] = {}
        code = answer.get("code")
        if status >= 400 and isinstance(code, str):
            details["code"] = code
        runtime: Runtime = scope["app"].state.runtime
        self.writer.write(
            runtime.database,
            AuditRecord(
                account_id=principal.account_id,
                actor_type=actor.type,
                actor_id=actor.id,
                action=action,
                resource_id=resource_id,
                outcome=status,
                details=details,
                ip=actor.ip,
                request_id=actor.request_id,
            ),
        )


class AuditWriter:
    """Writes the entries that follow an answer as tasks of their own, so neither the request
    (nor the next one on its keep-alive connection) waits for the write, which a busy database
    can hold for seconds; ``drain`` lets the last ones finish before the app's database closes."""

    def __init__(self) -> None:
        self._pending: set[asyncio.Task[None]] = set()

    def write(self, database: Database, record: AuditRecord) -> None:
        task = asyncio.get_running_loop().create_task(self._write(database, record))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self, timeout: float = 10.0) -> None:
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=timeout)

    @staticmethod
    async def _write(database: Database, record: AuditRecord) -> None:
        try:
            await audit.record(database, record)
        except Exception as error:
            log.error("audit entry for %s not written: %s", record.action, type(error).__name__)


def _json_object(body: bytes) -> dict[str, object]:
    try:
        value = json.loads(body) if body else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
