"""Who is acting now: the caller of the request (or command) being served, kept in a context
variable by the API's audit middleware (``api.audit``) and the ``durapay`` command, so that an
audit entry written deep in a service names them, and so that the middleware knows a service has
already written the request's entry (``services.audit.append`` marks it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from contracts.audit import ActorType


@dataclass
class Actor:
    """The caller of one request (or one command), and whether an audit entry for what it
    changed has been written in the change's own transaction (``recorded``: it rolls back if
    the request fails) or committed in one of its own (``committed``: it stays)."""

    type: ActorType
    id: str | None
    ip: str | None = None
    request_id: str | None = None
    recorded: bool = False
    committed: bool = False


def operator_at_the_command() -> Actor:
    """An operator at the ``durapay`` command: no IP, no request id."""
    return Actor(ActorType.OPERATOR, "durapay-cli")


_current: ContextVar[Actor | None] = ContextVar("durapay_actor", default=None)


@contextmanager
def acting(actor: Actor) -> Iterator[Actor]:
    """Make ``actor`` the current one for the block."""
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def current_actor() -> Actor | None:
    return _current.get()
