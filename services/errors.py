"""The errors a client can see, each with its HTTP status and a stable ``code``.

Services raise them; ``api.errors`` renders them as RFC 9457 problem+json. They live below the API
so that services (and the ``durapay`` command) share one vocabulary without importing FastAPI.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """A client-visible failure: HTTP status, stable code, human title and detail."""

    status = 500
    code = "internal_error"
    title = "Internal error"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class BadRequest(AppError):
    status, code, title = 400, "bad_request", "Bad request"


class IdempotencyKeyRequired(AppError):
    status, code, title = 400, "idempotency_key_required", "Idempotency-Key header required"


class InvalidSignature(AppError):
    status, code, title = 400, "invalid_signature", "Webhook signature invalid"


class Unauthorized(AppError):
    status, code, title = 401, "unauthorized", "Missing or invalid API key"


class PaymentMethodDeclined(AppError):
    status, code, title = 402, "payment_method_declined", "Payment method declined"


class PaymentFailed(AppError):
    status, code, title = 402, "payment_failed", "Payment failed"


class InsufficientCredits(AppError):
    status, code, title = 402, "insufficient_credits", "Not enough credits"


class InsufficientFunds(AppError):
    status, code, title = 402, "insufficient_funds", "Not enough available in the wallet"


class Forbidden(AppError):
    status, code, title = 403, "forbidden", "This API key may not do that"


class NotFound(AppError):
    status, code, title = 404, "not_found", "Not found"


class InvalidState(AppError):
    status, code, title = 409, "invalid_state", "Not allowed in the current state"


class IdempotencyKeyReused(AppError):
    status, code, title = 409, "idempotency_key_reused", "Idempotency-Key reused"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            detail or "This Idempotency-Key was already used with a different request body."
        )


class PayloadTooLarge(AppError):
    status, code, title = 413, "payload_too_large", "Request body too large"


class RateLimited(AppError):
    status, code, title = 429, "rate_limited", "Too many requests"


class ValidationFailed(AppError):
    status, code, title = 422, "validation_error", "Request validation failed"


class RawCardDataForbidden(AppError):
    status, code, title = 422, "raw_card_data_forbidden", "Raw card data is not accepted"


class InvalidPaymentMethod(AppError):
    status, code, title = 422, "invalid_payment_method", "Invalid payment method"


class CustomerNotFound(AppError):
    status, code, title = 422, "customer_not_found", "Customer not found"


class PaymentMethodNotFound(AppError):
    status, code, title = 422, "payment_method_not_found", "Payment method not found"


class PlanNotFound(AppError):
    status, code, title = 422, "plan_not_found", "Plan not found"


class PaymentMethodRequired(AppError):
    status, code, title = 422, "payment_method_required", "Payment method required"


class CurrencyMismatch(AppError):
    status, code, title = 422, "currency_mismatch", "Currency mismatch"


class ReturnUrlRequired(AppError):
    status, code, title = 422, "return_url_required", "return_url required"


class ProviderNotAvailable(AppError):
    status, code, title = 422, "provider_not_available", "Provider not available"


class AmountNotRepresentable(AppError):
    status, code, title = 422, "amount_not_representable", "Amount not representable"


class AmountExceedsLimit(AppError):
    status, code, title = 422, "amount_exceeds_limit", "Amount exceeds the single-payment limit"


class AmountExceedsCapturable(AppError):
    status, code, title = 422, "amount_exceeds_capturable", "Amount exceeds capturable"


class RefundExceedsAvailable(AppError):
    status, code, title = 422, "refund_exceeds_available", "Refund exceeds available amount"


class CreditsBelowMinimum(AppError):
    status, code, title = 422, "credits_below_minimum", "Fewer credits than the smallest purchase"


class CreditBalanceLimit(AppError):
    status, code, title = 422, "credit_balance_limit", "The credit balance would exceed its limit"


class ProviderError(AppError):
    status, code, title = 502, "provider_error", "The payment provider refused the request"


class ServiceUnavailable(AppError):
    status, code, title = 503, "service_unavailable", "A dependency is unavailable"


class DatabaseUnavailable(AppError):
    """Rendered by ``api.errors`` from the database layer's own exceptions, never raised."""

    status, code, title = 503, "database_unavailable", "The database is unavailable"


class InvoiceNotInDunning(AppError):
    status, code, title = 409, "invoice_not_in_dunning", "The invoice is not in dunning"


class LinkExpired(AppError):
    """A payment link past its expiry, or revoked by the merchant."""

    status, code, title = 410, "link_expired", "This payment link has expired"


class LinkUsed(AppError):
    """A payment link whose one payment has succeeded."""

    status, code, title = 410, "link_used", "This payment link has been used"
