"""Mail the workflows send through the outbox."""

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
    template: MailTemplate
    context: dict[str, str]
    customer_id: str | None = None
    """Whose address the activity reads from the database when it sends: no address in
    Temporal. An erased customer gets no mail."""
    to: str | None = None
    """Only in mails scheduled before addresses were read at send time; ``None`` since."""
