"""The Stripe client secret a payment's ``next_action`` hands the buyer's browser, read from
Stripe when the API answers.

It lets a browser confirm the payment, so it is kept out of Temporal (no workflow input, result
or history holds it) and out of the database: the one place that keeps it is Stripe, which the
API asks, with the secret key, whenever it answers a payment waiting on ``stripe_sdk``."""

from __future__ import annotations

import functools
import logging

import stripe

from settings import Settings

log = logging.getLogger("durapay.client_secrets")


@functools.cache
def _stripe(api_key: str, api_base: str, timeout: float) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base},
        max_network_retries=1,
        # A GET only (no form body): the SDK's own async transport as it is.
        http_client=stripe.HTTPXClient(timeout=timeout),
    )


async def stripe_client_secret(settings: Settings, intent_id: str | None) -> str | None:
    """The intent's client secret; ``None`` (logged) when Stripe cannot say right now: the
    payment is still answered, and asking again later gives the secret."""
    if intent_id is None:
        return None
    client = _stripe(
        settings.stripe_api_key.get_secret_value(),
        settings.stripe_api_base,
        settings.provider_call_timeout.total_seconds(),
    )
    try:
        intent = await client.v1.payment_intents.retrieve_async(intent_id)
    except stripe.StripeError as error:
        log.warning("client secret of %s not read from Stripe: %s", intent_id, type(error).__name__)
        return None
    secret: str | None = intent.client_secret
    return secret
