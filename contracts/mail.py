"""Mail the workflows send through the outbox.

Frozen dataclasses and StrEnums only, so Temporal's JSON converter round-trips them exactly and a
workflow can never mutate a value it was handed. Money is integer minor units plus an ISO 4217
code. Contracts import nothing of Durapay's but other contracts and ``money`` (import-linter).

No ``from __future__ import annotations`` here: Temporal's converter calls ``typing.get_type_hints``
on a dataclass every time it decodes one, and string annotations are evaluated from source again
each time (real annotations decode about 2.5 times faster).
"""

from dataclasses import dataclass
from enum import StrEnum


class MailTemplate(StrEnum):
    """The dunning mails, one per stage; each names a template pair under ``templates/mail/``."""

    PAYMENT_FAILED = "payment_failed"
    PAYMENT_FAILED_AGAIN = "payment_failed_again"
    FINAL_NOTICE = "final_notice"
    SUBSCRIPTION_CANCELED = "subscription_canceled"
    PAYMENT_RECOVERED = "payment_recovered"


@dataclass(frozen=True)
class MailRequest:
    """One mail to send at most once per ``key``, the outbox dedupe key the workflow chooses
    (``<workflow id>:<stage>``), so a retried or replayed send never mails twice.

    ``context`` fills the template: ``plan_name``, ``amount`` (integer minor units, as a string),
    ``currency`` and ``update_payment_method_url``.
    """

    key: str
    to: str
    template: MailTemplate
    context: dict[str, str]
