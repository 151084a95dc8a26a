"""API keys: who is calling; issuing, rolling and revoking keys; the dev keys that must never work
in production.

The API (``api/routes/api_keys.py``, an admin managing its own account's keys) and the ``durapay``
command (an operator with the database, any account) share these functions. A secret is returned
once, by the call that made it; the database keeps only its HMAC-SHA256 under the server's
secret (``DURAPAY_API_KEY_SECRET``), so a leaked table alone cannot be checked against a guess.
A key stored before that (plain SHA-256, migration 0013) still works and is moved to the keyed
hash by its first use, the only moment its secret is in hand.

Rolling issues a *new* key (new id and secret, same account, name and role) and gives the old one an
``expires_at``: the old secret keeps working until then, so clients can move over without an
outage, and the old key's ``last_used_at`` shows whether anything still uses it.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import SecretStr
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ApiKey
from db.repositories import api_keys as api_keys_repo
from services import audit_trail
from services.database import Database
from services.errors import Unauthorized, ValidationFailed
from services.idempotency import hash_api_key, legacy_hash_api_key, random_id
from services.ownership import owned
from settings import DEV_ACCOUNT_ID, DEV_ADMIN_KEY, DEV_CLIENT_KEY, Settings

log = logging.getLogger("durapay.api_keys")

Role = Literal["client", "admin"]

DEV_KEYS: dict[str, Role] = {DEV_CLIENT_KEY: "client", DEV_ADMIN_KEY: "admin"}

LAST_USED_PRECISION = timedelta(minutes=1)
"""``last_used_at`` is written when it is older than this: authenticating is a read, plus at most
one small UPDATE per key a minute after the answer, not a write per request."""

DEFAULT_ROLL_OVERLAP = 86_400
MAX_ROLL_OVERLAP = 7 * 86_400
"""Seconds an old secret may keep working after a roll: long enough to redeploy every client,
short enough that a roll really retires a leaked secret (Stripe also stops at seven days)."""


class DevKeysInProduction(RuntimeError):
    """Raised at start-up: a production database still accepts a well-known dev key."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account that owns everything they create, and their role."""

    account_id: str
    role: str
    key_id: str
    last_used_at: datetime | None = None
    """As recorded before this request."""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class ApiKeyView:
    """A key as anyone may see it: never its secret, which is not stored."""

    id: str
    name: str
    role: str
    account_id: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, row: ApiKey) -> ApiKeyView:
        return cls(
            id=row.id,
            name=row.name,
            role=row.role,
            account_id=row.account_id,
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
        )


@dataclass(frozen=True)
class IssuedApiKey(ApiKeyView):
    """A key just made, with the secret it will never be shown with again."""

    secret: str


async def authenticate(database: Database, key: str, hashing_key: SecretStr) -> Principal:
    """The caller behind ``key``: one read, no write (``record_use`` follows the answer), but for
    a key still under the legacy hash, which is moved to the keyed one now."""
    keyed = hash_api_key(key, hashing_key.get_secret_value())
    async with database.reading() as session:
        found = await api_keys_repo.find_active_api_key(session, keyed)
        legacy = None
        if found is None:
            legacy = await api_keys_repo.find_active_api_key(
                session, legacy_hash_api_key(key), scheme=api_keys_repo.SHA256_SCHEME
            )
    if legacy is not None:
        async with database.writing() as session:
            await api_keys_repo.rehash_api_key(session, legacy.id, legacy.key_hash, keyed)
        found = legacy
    if found is None:
        raise Unauthorized("The API key is unknown, revoked or expired.")
    return Principal(
        account_id=found.account_id,
        role=found.role,
        key_id=found.id,
        last_used_at=found.last_used_at,
    )


async def record_use(database: Database, principal: Principal) -> None:
    """Note the key's use now, unless its recorded last use is under ``LAST_USED_PRECISION`` old.

    The API runs this after the answer is sent, so no request waits for it, and a database that
    cannot take the write now (a SQLite lock held elsewhere; reads go on meanwhile) delays no
    answer: the use is recorded by the key's next request instead.
    """
    now = datetime.now(UTC)
    stale = now - LAST_USED_PRECISION
    if principal.last_used_at is not None and principal.last_used_at > stale:
        return
    try:
        async with database.writing() as session:
            await api_keys_repo.record_use(session, principal.key_id, now, unless_after=stale)
    except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError) as error:
        log.warning("last use of %s not recorded: %s", principal.key_id, type(error).__name__)


async def create_key(
    database: Database, account_id: str, name: str, role: Role, *, hashing_key: SecretStr
) -> IssuedApiKey:
    async with database.writing() as session:
        issued = await _issue(
            session, account_id=account_id, name=name, role=role, hashing_key=hashing_key
        )
        await audit_trail.append_change(
            session,
            account_id=account_id,
            action="api_key.create",
            resource_id=issued.id,
            outcome=201,
            details={"role": role},
        )
        return issued


async def list_keys(
    database: Database, account_id: str | None, *, limit: int, starting_after: str | None
) -> tuple[list[ApiKeyView], bool]:
    """The keys that still work, newest first (revoked and expired ones are gone for good);
    ``account_id=None`` lists every account's (the ``durapay`` command)."""
    async with database.reading() as session:
        rows, has_more = await api_keys_repo.list_usable_api_keys(
            session,
            account_id,
            datetime.now(UTC),
            limit=limit,
            starting_after=starting_after,
        )
    return [ApiKeyView.of(row) for row in rows], has_more


async def roll_key(
    database: Database,
    account_id: str | None,
    key_id: str,
    expires_in: int,
    *,
    hashing_key: SecretStr,
) -> IssuedApiKey:
    """A new key in the old one's place; the old one works ``expires_in`` seconds more (0 ends it
    now). Rolling a key that already expires sooner keeps the sooner time."""
    if not 0 <= expires_in <= MAX_ROLL_OVERLAP:
        raise ValidationFailed(f"expires_in must be between 0 and {MAX_ROLL_OVERLAP} seconds.")
    now = datetime.now(UTC)
    async with database.writing() as session:
        old = await _usable(session, account_id, key_id, now)
        await api_keys_repo.expire_api_key(session, old, now + timedelta(seconds=expires_in))
        issued = await _issue(
            session,
            account_id=old.account_id,
            name=old.name,
            role=old.role,
            hashing_key=hashing_key,
        )
        await audit_trail.append_change(
            session,
            account_id=old.account_id,
            action="api_key.roll",
            resource_id=old.id,
            outcome=201,
            details={"new_key_id": issued.id, "expires_in": expires_in},
        )
        return issued


async def revoke_key(database: Database, account_id: str | None, key_id: str) -> None:
    """The key stops working with the next request (authentication reads it every time)."""
    now = datetime.now(UTC)
    async with database.writing() as session:
        key = await _usable(session, account_id, key_id, now)
        await api_keys_repo.revoke_api_key(session, key, now)
        await audit_trail.append_change(
            session,
            account_id=key.account_id,
            action="api_key.revoke",
            resource_id=key.id,
            outcome=204,
        )


async def _issue(
    session: AsyncSession, *, account_id: str, name: str, role: str, hashing_key: SecretStr
) -> IssuedApiKey:
    secret = "sk_" + secrets.token_urlsafe(32)
    row = await api_keys_repo.add_api_key(
        session,
        key_id=random_id("key_"),
        account_id=account_id,
        role=role,
        key_hash=hash_api_key(secret, hashing_key.get_secret_value()),
        name=name,
    )
    return IssuedApiKey(**asdict(ApiKeyView.of(row)), secret=secret)


async def _usable(
    session: AsyncSession, account_id: str | None, key_id: str, at: datetime
) -> ApiKey:
    """The key, if it still works and (given ``account_id``) belongs to that account: another
    account's key is as unknown as a missing one."""
    return await owned(
        api_keys_repo.get_usable_api_key(session, key_id, account_id, at), f"API key {key_id}"
    )


async def prepare_keys(database: Database, settings: Settings) -> None:
    """Seed the dev keys where allowed; refuse to serve production while one still works
    (under either hash)."""
    hashing_key = settings.api_key_secret.get_secret_value()
    async with database.writing() as session:
        if settings.dev_keys_enabled:
            for key, role in DEV_KEYS.items():
                await api_keys_repo.ensure_api_key(
                    session,
                    key_id=f"key_dev_{role}",
                    account_id=DEV_ACCOUNT_ID,
                    role=role,
                    key_hash=hash_api_key(key, hashing_key),
                    name=f"dev {role} key",
                )
        elif await api_keys_repo.any_api_key_with_hash(
            session,
            [hash_api_key(key, hashing_key) for key in DEV_KEYS]
            + [legacy_hash_api_key(key) for key in DEV_KEYS],
        ):
            raise DevKeysInProduction("revoke the dev API keys before running in production")
