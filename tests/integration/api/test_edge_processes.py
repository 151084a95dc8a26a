"""The edge across real API processes (uvicorn, ``tests.support.api_process``): several processes
share one rate-limit budget through a real Redis, and a huge upload is refused while it streams,
without the process's memory growing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from db.migrate import upgrade_to_head
from settings import DEV_CLIENT_KEY
from tests.support.api_process import running_api_process
from tests.support.net import free_port
from tests.support.redis import running_redis

MIB = 1024 * 1024


@pytest.fixture
async def database_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'durapay.db'}"
    await upgrade_to_head(url)
    return url


@pytest.fixture
def redis_url() -> Iterator[str]:
    with running_redis() as url:
        yield url


def plans(port: int) -> httpx.Response:
    return httpx.get(
        f"http://127.0.0.1:{port}/v1/plans",
        headers={"Authorization": f"Bearer {DEV_CLIENT_KEY}"},
        timeout=10,
    )


def test_two_api_processes_share_one_budget_on_redis(database_url: str, redis_url: str) -> None:
    environment = {
        "DURAPAY_DATABASE_URL": database_url,
        "DURAPAY_REDIS_URL": redis_url,
        "DURAPAY_RATE_LIMIT_API": "10/minute",
    }
    first, second = free_port(), free_port()
    with (
        running_api_process(first, environment),
        running_api_process(second, environment),
    ):
        on_first = [plans(first) for _ in range(6)]
        on_second = [plans(second) for _ in range(6)]

    assert [a.status_code for a in on_first] == [200] * 6
    assert [a.status_code for a in on_second] == [200] * 4 + [429] * 2, (
        "the second process counts on from the first's six"
    )
    assert [a.headers["RateLimit-Remaining"] for a in on_second] == ["3", "2", "1", "0", "0", "0"]
    refused = on_second[-1]
    assert refused.json()["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1


def test_a_100_mib_upload_to_a_webhook_route_is_refused_while_memory_stays_flat(
    database_url: str,
) -> None:
    port = free_port()
    with running_api_process(port, {"DURAPAY_DATABASE_URL": database_url}) as pid:
        process = psutil.Process(pid)
        url = f"http://127.0.0.1:{port}/v1/webhooks/stripe"
        warm = httpx.post(url, content=b"{}", headers={"Stripe-Signature": "t=1,v1=0"})
        assert warm.status_code == 400
        before = process.memory_info().rss

        def hundred_mib() -> Iterator[bytes]:
            chunk = b"x" * MIB
            for _ in range(100):
                yield chunk

        streamed = httpx.post(
            url, content=hundred_mib(), headers={"Stripe-Signature": "t=1,v1=0"}, timeout=60
        )
        declared = httpx.post(
            url,
            content=b"x" * (MIB + 1),
            headers={"Stripe-Signature": "t=1,v1=0"},
            timeout=60,
        )
        grown = process.memory_info().rss - before

    assert streamed.status_code == 413, streamed.text
    assert streamed.json()["code"] == "payload_too_large"
    assert declared.status_code == 413
    print(f"API RSS grew by {grown / MIB:.1f} MiB")
    assert grown < 20 * MIB, f"the API grew by {grown / MIB:.1f} MiB"
