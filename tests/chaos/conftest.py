"""Knobs shared by the chaos tests: how many payments, and the seed that makes a run replayable."""

from __future__ import annotations

import os

import pytest

from tests.support.chaos import chaos_seed

DEFAULT_PAYMENTS = 20
"""The bounded run of ``make test``; ``make chaos`` sets ``DURAPAY_CHAOS_PAYMENTS=100``."""
DEFAULT_SUBSCRIPTIONS = 5
"""The bounded run of ``make test``; ``make chaos`` sets ``DURAPAY_CHAOS_SUBSCRIPTIONS=20``."""


@pytest.fixture
def chaos_payments() -> int:
    return int(os.environ.get("DURAPAY_CHAOS_PAYMENTS", DEFAULT_PAYMENTS))


@pytest.fixture
def chaos_subscriptions() -> int:
    return int(os.environ.get("DURAPAY_CHAOS_SUBSCRIPTIONS", DEFAULT_SUBSCRIPTIONS))


@pytest.fixture
def seed() -> int:
    """Named in every assertion message; ``DURAPAY_CHAOS_SEED=<it>`` replays the run."""
    return chaos_seed()
