"""Run localstripe bound to one address, with its state file where we choose.

localstripe itself listens on every interface and pickles its whole store to a fixed
``/tmp/localstripe.pickle`` after each change, so two instances (the dev stack and a test run)
would overwrite each other. This launcher keeps the package's server and resources untouched and
only replaces those two choices: ``--state-file`` (omit it for a purely in-memory store, as tests
do) and ``--host``. It also accepts two PaymentIntent parameters real Stripe takes and localstripe
refuses with 400: ``off_session`` on confirm (a renewal's charge; localstripe has no
authentication rules to apply it to, so it is ignored) and ``description`` on create (kept on the
intent).
"""

from __future__ import annotations

import argparse
import logging
import pickle
from pathlib import Path

from aiohttp import web
from localstripe import resources


def _persist_to(path: Path | None) -> None:
    store_class = resources.Store

    def load(store: resources.Store) -> None:
        if path is not None and path.exists():
            with path.open("rb") as handle:
                store.clear()
                store.update(pickle.load(handle))  # noqa: S301 - our own state file

    def dump(store: resources.Store) -> None:
        if path is None:
            return
        temporary = path.with_suffix(".tmp")
        with temporary.open("wb") as handle:
            pickle.dump(dict(store), handle, protocol=pickle.HIGHEST_PROTOCOL)
        temporary.replace(path)

    store_class.try_load_from_disk = load
    store_class.dump_to_disk = dump


def _accept_description() -> None:
    create = resources.PaymentIntent._api_create

    def create_with_description(description: object = None, **data: object) -> object:
        intent = create(**data)
        intent.description = description
        return intent

    resources.PaymentIntent._api_create = create_with_description


def _accept_off_session() -> None:
    """Wrap the confirm route's handler; localstripe's server binds routes when it is imported,
    so this must run before ``localstripe.server`` is."""
    confirm = resources.PaymentIntent._api_confirm

    def confirm_off_session(id: str, off_session: object = None, **kwargs: object) -> object:
        return confirm(id, **kwargs)

    resources.extra_apis[:] = [
        (method, url, confirm_off_session if func == confirm else func)
        for method, url, func in resources.extra_apis
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--state-file", type=Path, default=None)
    args = parser.parse_args()
    if args.state_file is not None:
        args.state_file.parent.mkdir(parents=True, exist_ok=True)
    _persist_to(args.state_file)
    _accept_off_session()
    _accept_description()
    # Imported here: its routes bind when it is imported, which must come after the patch.
    from localstripe import server

    server.store.try_load_from_disk()
    logging.basicConfig(level=logging.WARNING)
    web.run_app(server.app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
