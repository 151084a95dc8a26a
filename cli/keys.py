"""``durapay keys create|list|roll|revoke``: API keys of any account, for an operator with the
database (the API's own routes let an admin key manage only its account's keys)."""

from __future__ import annotations

import argparse
import re
from typing import Any

from pydantic import SecretStr

from services import api_keys
from services.actor import acting, operator_at_the_command
from services.database import Database, connect
from settings import Settings

_ACCOUNT_ID = re.compile(r"^acct_[A-Za-z0-9_]{1,59}$")
_PAGE = 100


def _account_id(value: str) -> str:
    """Accounts have no table of their own, so a typo would silently make a new one: the shape at
    least is checked."""
    if not _ACCOUNT_ID.match(value):
        raise argparse.ArgumentTypeError("an account id is acct_ followed by letters or digits")
    return value


def add_commands(commands: Any) -> None:
    """``commands`` is the top parser's subparsers (argparse keeps that class private)."""
    keys = commands.add_parser("keys", help="API keys: create, list, roll, revoke")
    keys.set_defaults(run=run)
    actions = keys.add_subparsers(dest="action", required=True)

    create = actions.add_parser("create", help="issue a key and print its secret (once)")
    create.add_argument("--account", type=_account_id, required=True, help="acct_…")
    create.add_argument("--name", required=True, help="what the key is for, e.g. ops")
    create.add_argument("--role", choices=["client", "admin"], required=True)

    listing = actions.add_parser("list", help="the keys that still work, newest first")
    listing.add_argument("--account", type=_account_id, help="only this account's keys")

    roll = actions.add_parser("roll", help="replace a key; the old one works a while longer")
    roll.add_argument("key_id", help="key_…")
    roll.add_argument(
        "--expires-in",
        type=int,
        default=api_keys.DEFAULT_ROLL_OVERLAP,
        metavar="SECONDS",
        help="how long the old secret keeps working (default %(default)s, 0 = now)",
    )

    revoke = actions.add_parser("revoke", help="stop a key at once")
    revoke.add_argument("key_id", help="key_…")


async def run(args: argparse.Namespace, settings: Settings) -> Any:
    """What to print: a key (with its secret when just made), the keys, or a line of text. Each
    change is audited as the operator's."""
    with acting(operator_at_the_command()):
        return await _run(args, settings.database_url, settings.api_key_secret)


async def _run(args: argparse.Namespace, database_url: str, hashing_key: SecretStr) -> Any:
    async with connect(database_url) as database:
        if args.action == "create":
            return await api_keys.create_key(
                database, args.account, args.name, args.role, hashing_key=hashing_key
            )
        if args.action == "list":
            return await _all_keys(database, args.account)
        if args.action == "roll":
            return await api_keys.roll_key(
                database, None, args.key_id, args.expires_in, hashing_key=hashing_key
            )
        await api_keys.revoke_key(database, None, args.key_id)
        return f"{args.key_id} revoked"


async def _all_keys(database: Database, account_id: str | None) -> list[api_keys.ApiKeyView]:
    found: list[api_keys.ApiKeyView] = []
    has_more = True
    while has_more:
        page, has_more = await api_keys.list_keys(
            database, account_id, limit=_PAGE, starting_after=found[-1].id if found else None
        )
        found += page
    return found
