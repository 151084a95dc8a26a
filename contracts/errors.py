"""``ApplicationError.type`` values raised by activities and update handlers.

Shared so that retry policies (workflows) and the public error mapping (services) name them alike.
"""

from enum import StrEnum


class ErrorType(StrEnum):
    """``ApplicationError.type`` values raised by activities and handlers.

    Retry policies name the non-retryable ones, so a retry can only ever repeat a call that might
    succeed the second time.
    """

    PROVIDER_UNAVAILABLE = "ProviderUnavailable"
    PROVIDER_RATE_LIMITED = "ProviderRateLimited"
    PROVIDER_AUTH_FAILED = "ProviderAuthFailed"
    PROVIDER_INVALID_REQUEST = "ProviderInvalidRequest"
    PROVIDER_NOT_AVAILABLE = "ProviderNotAvailable"
    IDEMPOTENCY_KEY_REUSED = "IdempotencyKeyReused"
    INVALID_STATE = "InvalidState"
    AMOUNT_EXCEEDS_CAPTURABLE = "AmountExceedsCapturable"
    REFUND_EXCEEDS_AVAILABLE = "RefundExceedsAvailable"
    PLAN_CHANGE_DECLINED = "PlanChangeDeclined"
    PLAN_CURRENCY_MISMATCH = "PlanCurrencyMismatch"
    MAIL_CONTEXT_INVALID = "MailContextInvalid"
    REFUND_NOT_POSSIBLE = "RefundNotPossible"
    INVOICE_NOT_IN_DUNNING = "InvoiceNotInDunning"
    LOOKUP_NOT_CONCLUSIVE = "LookupNotConclusive"
    """A provider search found nothing yet, but may still be catching up: ask again later."""
    """The payment refused a refund or has closed: retrying cannot change that."""
    """A mail that cannot be rendered: a bug no retry can fix."""


NON_RETRYABLE_PROVIDER_ERRORS: tuple[str, ...] = (
    ErrorType.PROVIDER_AUTH_FAILED,
    ErrorType.PROVIDER_INVALID_REQUEST,
)
