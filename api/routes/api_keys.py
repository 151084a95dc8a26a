"""An admin manages its own account's API keys: issue, list, roll, revoke."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import AdminDep, PageQueryDep, RuntimeDep
from api.problems import problems
from api.schemas.api_keys import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, ApiKeyRoll
from api.schemas.common import Page, page_of
from services import api_keys, errors

router = APIRouter(prefix="/v1/admin/api-keys", tags=["api keys"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_api_key(body: ApiKeyCreate, admin: AdminDep, runtime: RuntimeDep) -> ApiKeyCreated:
    """A new key of the caller's account; its secret is in this answer and nowhere else."""
    issued = await api_keys.create_key(
        runtime.database,
        admin.account_id,
        body.name,
        body.role,
        hashing_key=runtime.settings.api_key_secret,
    )
    return ApiKeyCreated.model_validate(issued)


@router.get("")
async def list_api_keys(
    admin: AdminDep,
    runtime: RuntimeDep,
    paging: PageQueryDep,
) -> Page[ApiKeyOut]:
    """The account's keys that still work, newest first; never a secret."""
    keys, has_more = await api_keys.list_keys(
        runtime.database, admin.account_id, limit=paging.limit, starting_after=paging.starting_after
    )
    return page_of(ApiKeyOut, keys, has_more)


@router.post(
    "/{key_id}/roll", status_code=status.HTTP_201_CREATED, responses=problems(errors.NotFound)
)
async def roll_api_key(
    key_id: str, admin: AdminDep, runtime: RuntimeDep, body: ApiKeyRoll | None = None
) -> ApiKeyCreated:
    """A new key (new id and secret, same name and role) replaces this one, which keeps working
    for ``expires_in`` seconds (its ``expires_at`` in the list) so clients can switch over."""
    expires_in = (body or ApiKeyRoll()).expires_in
    issued = await api_keys.roll_key(
        runtime.database,
        admin.account_id,
        key_id,
        expires_in,
        hashing_key=runtime.settings.api_key_secret,
    )
    return ApiKeyCreated.model_validate(issued)


@router.delete(
    "/{key_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(errors.NotFound)
)
async def revoke_api_key(key_id: str, admin: AdminDep, runtime: RuntimeDep) -> None:
    """The key stops working at once: its next request is 401."""
    await api_keys.revoke_key(runtime.database, admin.account_id, key_id)
