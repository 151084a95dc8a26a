"""A second Durapay worker and API whose provider clients reach localstripe and the PayPal sandbox
only through fault proxies, next to the session's own stack.

Chaos tests break the provider path of this worker without disturbing the session's worker: it
polls its own task queue, and the in-process API bound to it starts every payment there. Webhooks
still reach the session's API over HTTP and are signalled by workflow ID, so they find these
payments too.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from activities.providers.base import Provider
from activities.providers.paypal import PayPalProvider
from activities.providers.stripe import StripeProvider
from contracts.providers import ProviderName
from sandbox.faults.proxy import FaultProxy
from settings import Settings
from tests.support.in_process_api import in_process_api
from tests.support.localstripe import TEST_API_KEY
from tests.support.net import free_port
from tests.support.stack import Stack
from worker import build_worker


@dataclass(frozen=True)
class Proxied:
    """The proxies in front of each provider, the worker's settings, and a client of an API
    that starts payments on that worker."""

    stripe: FaultProxy
    paypal: FaultProxy
    settings: Settings
    api: httpx.AsyncClient


@asynccontextmanager
async def proxied_durapay(stack: Stack, **overrides: object) -> AsyncIterator[Proxied]:
    """Proxies, a worker on a fresh task queue and an in-process API, stopped on exit.

    The Stripe proxy replays a repeated Idempotency-Key as real Stripe does, so a retried call
    whose first answer was lost behaves as it would in production. The circuit breaker is
    effectively off: these tests count the requests that reach the providers, and an open
    circuit would answer in their place. ``overrides`` change other settings of both the worker
    and the API (e.g. ``provider_call_timeout``).
    """
    stripe = FaultProxy(stack.stripe_url, replay_idempotent=True)
    paypal = FaultProxy(stack.paypal_url)
    await stripe.start(free_port())
    await paypal.start(free_port())
    settings = stack.settings.model_copy(
        update={
            "task_queue": f"proxied-{uuid.uuid4().hex[:8]}",
            "circuit_failure_threshold": 1000,
            **overrides,
        }
    )
    providers: dict[ProviderName, Provider] = {
        ProviderName.STRIPE: StripeProvider(TEST_API_KEY, stripe.url),
        ProviderName.PAYPAL: PayPalProvider(
            settings.paypal_client_id,
            settings.paypal_client_secret.get_secret_value(),
            paypal.url,
        ),
    }
    try:
        async with (
            build_worker(stack.client, settings, stack.sessions, providers=providers),
            in_process_api(settings, stack.client, timeout=30) as api,
        ):
            yield Proxied(stripe=stripe, paypal=paypal, settings=settings, api=api)
    finally:
        await stripe.stop()
        await paypal.stop()
