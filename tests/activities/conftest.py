"""Provider tests run against their own localstripe: the session stack's instance delivers
webhooks to the API, and intents made here must not reach it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from activities.providers.stripe import StripeProvider
from tests.support.localstripe import TEST_API_KEY, running_localstripe


@pytest.fixture(scope="session")
def provider_localstripe_url() -> Iterator[str]:
    with running_localstripe() as url:
        yield url


@pytest.fixture
def stripe_provider(provider_localstripe_url: str) -> StripeProvider:
    return StripeProvider(TEST_API_KEY, provider_localstripe_url)
