"""Provider tests run against their own localstripe and PayPal sandbox: the session stack's
instances deliver webhooks to the API, and what is made here must not reach it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from activities.providers.stripe import StripeProvider
from tests.support.localstripe import TEST_API_KEY, running_localstripe
from tests.support.net import free_port
from tests.support.paypal import running_paypal_sandbox


@pytest.fixture(scope="session")
def provider_localstripe_url() -> Iterator[str]:
    with running_localstripe() as url:
        yield url


@pytest.fixture
def stripe_provider(provider_localstripe_url: str) -> StripeProvider:
    return StripeProvider(TEST_API_KEY, provider_localstripe_url)


@pytest.fixture(scope="session")
def paypal_url() -> Iterator[str]:
    with running_paypal_sandbox(free_port()) as url:
        yield url
