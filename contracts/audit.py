"""The audit log's vocabulary: who acted, what they did, to what, with what outcome."""

from dataclasses import dataclass, field
from enum import StrEnum


class ActorType(StrEnum):
    API_KEY = "api_key"
    PUBLIC_TOKEN = "public_token"  # noqa: S105 (an actor kind, not a secret)
    OPERATOR = "operator"
    """A person in the Temporal UI or at the ``durapay`` command."""
    SYSTEM = "system"
    """Durapay itself: a timeout, a schedule, a workflow's own decision."""


@dataclass(frozen=True)
class AuditRecord:
    """One entry to append to the account's chain.

    ``action`` is ``<resource>.<verb>`` (``payment.create``, ``api_key.roll``,
    ``review.approve``); ``outcome`` is the HTTP status the caller got (200 for a decision taken
    in a workflow). ``details`` hold IDs, amounts, codes and masked emails
    (``services.audit.mask_email``) only: never a secret, a card number or an address in clear.
    """

    account_id: str
    actor_type: ActorType
    actor_id: str | None
    action: str
    resource_id: str | None
    outcome: int
    details: dict[str, str | int | bool | None] = field(default_factory=dict)
    ip: str | None = None
    request_id: str | None = None
