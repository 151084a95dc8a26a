"""Who is acting now, so that a change can be audited where it is written.

Every mutating request gets exactly one audit entry (``api.audit``). A service that writes the
change itself (a customer created, updated or erased, an API key issued, rolled or revoked) calls
``append_change`` inside its own write transaction: the entry commits or rolls back with the
change. The request's middleware sets the actor (``acting``) and, after the answer, writes an
entry of its own only for a request no service recorded, which is every request whose change
happens in a workflow (a payment, a refund, a subscription change): there the entry follows the
answer and names its outcome. The ``durapay`` command acts as the operator.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.audit import ActorType, AuditRecord
from services import audit

Detail = str | int | bool | None


@dataclass
class Actor:
    """The caller of one request (or one command), and whether a service has already written
    the entry for what it changed."""

    type: ActorType
    id: str | None
    ip: str | None = None
    request_id: str | None = None
    recorded: bool = False


def operator_at_the_command() -> Actor:
    """An operator at the ``durapay`` command: no IP, no request id."""
    return Actor(ActorType.OPERATOR, "durapay-cli")


_current: ContextVar[Actor | None] = ContextVar("durapay_audit_actor", default=None)


@contextmanager
def acting(actor: Actor) -> Iterator[Actor]:
    """Make ``actor`` the one every ``append_change`` in the block records."""
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def current_actor() -> Actor | None:
    return _current.get()


async def append_change(
    session: AsyncSession,
    *,
    account_id: str,
    action: str,
    resource_id: str | None,
    outcome: int,
    details: dict[str, Detail] | None = None,
) -> str:
    """Chain the entry for a change in the caller's transaction, as the current actor (Durapay
    itself when nobody is acting: a change no request or command asked for)."""
    actor = _current.get() or Actor(ActorType.SYSTEM, None)
    entry_id = await audit.append(
        session,
        AuditRecord(
            account_id=account_id,
            actor_type=actor.type,
            actor_id=actor.id,
            action=action,
            resource_id=resource_id,
            outcome=outcome,
            details=details or {},
            ip=actor.ip,
            request_id=actor.request_id,
        ),
    )
    actor.recorded = True
    return entry_id
