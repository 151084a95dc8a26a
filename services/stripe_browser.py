"""The two Stripe calls the payment page needs that no workflow makes for it.

Both hand the customer's own browser a client secret: a SetupIntent's, so Stripe.js can turn
the typed card into a PaymentMethod (the card number goes to Stripe, never to Durapay), and a
PaymentIntent's, so Stripe.js can run 3-D Secure. Client secrets stay out of Temporal's history
(no secrets in payloads), so they are read from Stripe here, in the request that needs them,
rather than from a workflow's result. The SDK's synchronous client runs in a thread.
"""

from __future__ import annotations

import asyncio

import stripe

from services import errors
from settings import Settings


def _client(settings: Settings) -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.stripe_api_key.get_secret_value(),
        base_addresses={"api": settings.stripe_api_base},
        max_network_retries=2,
    )


async def card_setup_secret(settings: Settings) -> str:
    """A new SetupIntent's client secret, for ``stripe.confirmCardSetup`` in the browser."""
    try:
        setup = await asyncio.to_thread(_client(settings).v1.setup_intents.create, {})
    except stripe.StripeError as error:
        raise errors.ProviderError(f"Stripe refused a card setup ({error.http_status}).") from None
    if setup.client_secret is None:
        raise errors.ProviderError("Stripe answered a SetupIntent without a client secret.")
    return setup.client_secret


async def intent_client_secret(settings: Settings, intent_id: str) -> str:
    """The client secret of the PaymentIntent waiting on the customer's 3-D Secure step."""
    try:
        intent = await asyncio.to_thread(_client(settings).v1.payment_intents.retrieve, intent_id)
    except stripe.StripeError as error:
        raise errors.ProviderError(
            f"Stripe refused to read {intent_id} ({error.http_status})."
        ) from None
    if intent.client_secret is None:
        raise errors.ProviderError(f"Stripe answered {intent_id} without a client secret.")
    return intent.client_secret
