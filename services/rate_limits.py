"""Rate limits through the ``limits`` library: fixed windows counted in Redis when
``DURAPAY_REDIS_URL`` is set (every API process shares one budget), in the process's memory
otherwise (``make dev`` runs one process).

A fixed window costs one ``INCR`` (and an ``EXPIRE`` on the window's first hit) per request; a
moving window would keep a timestamp per request in Redis for a precision the contract does not
ask for.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from settings import Settings

log = logging.getLogger("durapay.rate_limits")


@dataclass(frozen=True)
class Verdict:
    """One request counted against a budget: the ``RateLimit-*`` headers' values."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: int
    """Whole seconds until the window ends (at least 1)."""

    def headers(self) -> list[tuple[bytes, bytes]]:
        values = [
            (b"ratelimit-limit", self.limit),
            (b"ratelimit-remaining", self.remaining),
            (b"ratelimit-reset", self.reset_after),
        ]
        if not self.allowed:
            values.append((b"retry-after", self.reset_after))
        return [(name, str(value).encode()) for name, value in values]


@dataclass(frozen=True)
class Budgets:
    """The contract's three budgets, parsed from the settings."""

    api: RateLimitItem
    public_view: RateLimitItem
    public_action: RateLimitItem

    @classmethod
    def of(cls, settings: Settings) -> Budgets:
        return cls(
            api=parse(settings.rate_limit_api),
            public_view=parse(settings.rate_limit_public_view),
            public_action=parse(settings.rate_limit_public_action),
        )


def storage_uri(settings: Settings) -> str:
    """``limits``' asynchronous Redis storage is named ``async+redis://``; the setting holds the
    plain ``redis://`` URL every other Redis client (and docker-compose) uses."""
    url = settings.redis_url
    if not url:
        return "async+memory://"
    return url if url.startswith("async+") else f"async+{url}"


class RateLimiter:
    """Counts requests per budget and identity (an API key id, a token and an IP)."""

    def __init__(self, settings: Settings) -> None:
        self.budgets = Budgets.of(settings)
        storage = storage_from_string(storage_uri(settings), wrap_exceptions=True)
        assert isinstance(storage, Storage)  # an ``async+`` URI makes an asynchronous storage
        self._limiter = FixedWindowRateLimiter(storage)

    async def hit(self, item: RateLimitItem, *identity: str) -> Verdict:
        """Count one request. When the storage cannot be reached the request is let through
        (and logged): a Redis outage must not stop payments, it only lifts the limits."""
        return await self._verdict(item, identity, count=True)

    async def peek(self, item: RateLimitItem, *identity: str) -> Verdict:
        """Whether one more request would be allowed, without counting it."""
        return await self._verdict(item, identity, count=False)

    async def _verdict(
        self, item: RateLimitItem, identity: tuple[str, ...], *, count: bool
    ) -> Verdict:
        limiter = self._limiter
        try:
            if count:
                allowed = await limiter.hit(item, *identity)
            else:
                allowed = await limiter.test(item, *identity)
            stats = await limiter.get_window_stats(item, *identity)
        except StorageError as error:
            log.warning("rate limit not counted, storage unavailable: %s", type(error).__name__)
            return Verdict(True, item.amount, item.amount, item.get_expiry())
        reset_after = max(1, math.ceil(stats.reset_time - time.time()))
        return Verdict(allowed, item.amount, stats.remaining, reset_after)
