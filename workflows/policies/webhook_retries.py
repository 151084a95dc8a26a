"""When a failed webhook delivery is tried again, and when it stops.

The first retry comes within 30 s, then the waits grow (as Standard Webhooks' reference service,
Svix, spaces them) up to ten hours, repeated until three days have passed since the first attempt;
the last attempt falls exactly on the three days. A delivery still failing then disables its
endpoint.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
)
"""The wait after the first, second, … failed attempt; the last one repeats."""

GIVE_UP_AFTER = timedelta(days=3)

ATTEMPT_TIMEOUT = timedelta(seconds=30)
"""One attempt's activity: reading the event, a POST of at most 10 s, recording the outcome."""

ATTEMPT_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
)
"""Only an attempt that could not finish (its worker died, the database was down) is run again by
Temporal, under the same attempt number; a refused or failed POST is a result, retried by the
workflow's timers instead."""


def next_delay(failed_attempts: int, elapsed: timedelta) -> timedelta | None:
    """The wait before the next attempt after ``failed_attempts`` failures, ``elapsed`` after the
    first attempt; ``None`` when three days have passed and the delivery gives up."""
    if elapsed >= GIVE_UP_AFTER:
        return None
    delay = RETRY_DELAYS[min(failed_attempts, len(RETRY_DELAYS)) - 1]
    return min(delay, GIVE_UP_AFTER - elapsed)
