"""Clients of the running API beyond the dev client key (``api``, in tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from db.repositories import api_keys as api_keys_repo
from services.idempotency import hash_api_key
from settings import DEV_ADMIN_KEY
from tests.support.stack import Stack


@asynccontextmanager
async def fresh_account_client(
    stack: Stack, role: str, name: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the running API holding a new key of a new account, with ``role``."""
    key = f"sk_test_{uuid.uuid4().hex}"
    async with stack.sessions() as session, session.begin():
        await api_keys_repo.add_api_key(
            session,
            key_id=f"key_{uuid.uuid4().hex[:12]}",
            account_id=f"acct_{uuid.uuid4().hex[:12]}",
            role=role,
            key_hash=hash_api_key(key, stack.settings.api_key_secret.get_secret_value()),
            name=name,
        )
    async with httpx.AsyncClient(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as client:
        yield client


@pytest.fixture
async def stranger(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client key of another account."""
    async with fresh_account_client(stack, "client", "another account") as client:
        yield client


@pytest.fixture
async def admin(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """The dev admin key, of the same account as the dev client key."""
    async with httpx.AsyncClient(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {DEV_ADMIN_KEY}"}, timeout=30
    ) as client:
        yield client
