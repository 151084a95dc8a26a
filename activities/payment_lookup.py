"""Resolving an ambiguous create by looking it up at the provider, never by sending it again.

PayPal pays an order for a vaulted wallet in the create call itself and forgets a request ID after
6 hours, so a create whose answers were lost for longer cannot be repeated safely: a repeat would
be a second order and a second charge. The payment's workflow stops repeating it before then and
asks here instead: PayPal's transaction search lists the capture its order made (tagged with the
payment ID as ``custom_id``), and the order is read back from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.providers.base import Provider, provider_failure
from activities.providers.paypal_search import PayPalTransactionSearch
from contracts.errors import ErrorType
from contracts.providers import IntentResult, ProviderName
from contracts.reconciliation import LostChargeLookup

SEARCH_MARGIN = timedelta(minutes=5)
"""Searched from this long before the payment was created: provider and worker clocks differ."""
LONGEST_WAIT = timedelta(minutes=10)
"""The longest pause between two searches while the provider's search may still be catching up."""


class PaymentLookupActivities:
    def __init__(
        self,
        providers: Mapping[ProviderName, Provider],
        paypal: PayPalTransactionSearch,
        reporting_lag: timedelta,
    ) -> None:
        self._providers = providers
        self._paypal = paypal
        self._reporting_lag = reporting_lag

    @activity.defn(name="find_lost_charge")
    async def find_lost_charge(self, lookup: LostChargeLookup) -> IntentResult | None:
        """The provider object the lost create made, or ``None`` once the provider's search is
        conclusive that it made none. Until then "nothing yet" is a retryable failure."""
        if lookup.provider is not ProviderName.PAYPAL:
            raise provider_failure(
                ErrorType.PROVIDER_INVALID_REQUEST,
                f"{lookup.provider} creates move no money; there is nothing to look up.",
            )
        now = datetime.now(UTC)
        capture = await self._paypal.capture_of(
            lookup.payment_id, lookup.created_at - SEARCH_MARGIN, now
        )
        if capture is not None and capture.intent_reference is not None:
            return await self._providers[ProviderName.PAYPAL].retrieve_intent(
                capture.intent_reference
            )
        conclusive_at = lookup.gave_up_at + self._reporting_lag
        if now < conclusive_at:
            raise ApplicationError(
                f"No capture of {lookup.payment_id} in PayPal's search yet; it may lag until "
                f"{conclusive_at.isoformat()}.",
                type=ErrorType.LOOKUP_NOT_CONCLUSIVE,
                next_retry_delay=min(conclusive_at - now, LONGEST_WAIT),
            )
        return None
