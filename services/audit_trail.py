"""An audit entry for a change, written where the change is, by whoever is acting now.

Every mutating request gets exactly one audit entry (``api.audit``). A service that writes the
change itself (a customer created, updated or erased, an API key issued, rolled or revoked) calls
``append_change`` inside its own write transaction: the entry commits or rolls back with the
change, and names the current actor (``services.actor``). The request's middleware writes an
entry of its own, after the answer, only for a request no service recorded: every request whose
change happens in a workflow (a payment, a refund, a subscription change). The ``durapay``
command acts as the operator.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.audit import ActorType, AuditRecord
from services import audit
from services.actor import Actor, current_actor

Detail = str | int | bool | None


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
    actor = current_actor() or Actor(ActorType.SYSTEM, None)
    return await audit.append(
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
