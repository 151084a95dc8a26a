"""Durapay's custom search attributes: what an operator filters on in the Temporal Web UI.

Registered by ``make dev`` and the test fixtures; set by the services at start and by the
workflows as they move. Values are IDs, statuses and amounts, never personal data.
"""

from temporalio.common import SearchAttributeKey

CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")


PAYMENT_STATUS = SearchAttributeKey.for_keyword("PaymentStatus")


PROVIDER = SearchAttributeKey.for_keyword("Provider")


AMOUNT_MINOR = SearchAttributeKey.for_int("AmountMinor")


CURRENCY = SearchAttributeKey.for_keyword("Currency")


SUBSCRIPTION_STATUS = SearchAttributeKey.for_keyword("SubscriptionStatus")


RISK_LEVEL = SearchAttributeKey.for_keyword("RiskLevel")


SEARCH_ATTRIBUTES = (
    CUSTOMER_ID,
    PAYMENT_STATUS,
    PROVIDER,
    AMOUNT_MINOR,
    CURRENCY,
    SUBSCRIPTION_STATUS,
    RISK_LEVEL,
)
"""Durapay's custom search attributes: registered by ``make dev`` and by the test fixtures."""
