"""The ``durapay`` command: what an operator does with the database before any API key exists.

A fresh production deployment refuses the dev keys, so its first admin key is made here::

    durapay keys create --account acct_… --name ops --role admin

It reads ``DURAPAY_DATABASE_URL`` (and the rest of the settings) as the API does, so it runs
wherever the API's environment is (``docker compose run --rm api durapay keys …``). Like a route,
it calls services only (import-linter holds ``cli`` to the API's layer): one vocabulary of keys and
errors for both. Answers are JSON in the API's shapes, so ``jq`` reads them. One module per group
of commands (``keys``); this one parses the line and prints the answer.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter

from cli import keys
from services.errors import AppError
from settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="durapay", description="Durapay's operator commands, on the API's database."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    keys.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 with the answer on stdout; 1 with the service's error on stderr (an unknown key, a
    value out of range); 2 for a command line argparse refuses."""
    args = _parser().parse_args(argv)
    try:
        answer = asyncio.run(args.run(args, Settings()))
    except AppError as error:
        print(f"durapay: {error.detail}", file=sys.stderr)
        return 1
    _print(answer)
    return 0


def _print(answer: Any) -> None:
    if isinstance(answer, str):
        print(answer)
        return
    print(TypeAdapter(Any).dump_json(answer, indent=2).decode())
    if getattr(answer, "secret", None):
        print("The secret above is shown only this once: store it now.", file=sys.stderr)
