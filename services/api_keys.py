"""API keys: who is calling, and the dev keys that must never work in production."""

from __future__ import annotations

from dataclasses import dataclass

from db.repositories import api_keys as api_keys_repo
from services.database import Database
from services.errors import Unauthorized
from services.idempotency import hash_api_key
from settings import DEV_ACCOUNT_ID, DEV_ADMIN_KEY, DEV_CLIENT_KEY, Settings

DEV_KEYS = {DEV_CLIENT_KEY: "client", DEV_ADMIN_KEY: "admin"}


class DevKeysInProduction(RuntimeError):
    """Raised at start-up: a production database still accepts a well-known dev key."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account that owns everything they create, and their role."""

    account_id: str
    role: str
    key_id: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


async def authenticate(database: Database, key: str) -> Principal:
    async with database.reading() as session:
        found = await api_keys_repo.find_active_api_key(session, hash_api_key(key))
    if found is None:
        raise Unauthorized("The API key is unknown or revoked.")
    return Principal(account_id=found.account_id, role=found.role, key_id=found.id)


async def prepare_keys(database: Database, settings: Settings) -> None:
    """Seed the dev keys where allowed; refuse to serve production while one still works."""
    async with database.writing() as session:
        if settings.dev_keys_enabled:
            for key, role in DEV_KEYS.items():
                await api_keys_repo.ensure_api_key(
                    session,
                    key_id=f"key_dev_{role}",
                    account_id=DEV_ACCOUNT_ID,
                    role=role,
                    key_hash=hash_api_key(key),
                    label=f"dev {role} key",
                )
        elif await api_keys_repo.any_api_key_with_hash(
            session, [hash_api_key(key) for key in DEV_KEYS]
        ):
            raise DevKeysInProduction("revoke the dev API keys before running in production")
