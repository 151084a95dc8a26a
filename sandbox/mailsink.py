"""A local SMTP sink: accepts every message on 127.0.0.1 and stores it as a ``.eml`` file.

``make dev`` runs it so the dunning mails of the dev stack can be read in ``.data/mail/``; tests
start ``MailSink`` on a free port in their own event loop. Nothing is ever relayed. File names
start with the receive time in nanoseconds, so sorting them gives the order of arrival.

    python -m sandbox.mailsink --port 8425 --dir .data/mail
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from pathlib import Path
from types import TracebackType

from aiosmtpd.smtp import SMTP, Envelope, Session


class _StoreToDirectory:
    """aiosmtpd handler: one file per message, written whole under a temporary name first, so a
    reader never sees half a message."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        content = envelope.original_content or b""
        await asyncio.to_thread(self._store, content)
        return "250 Message accepted for delivery"

    def _store(self, content: bytes) -> None:
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        partial = self.directory / f".{name}.tmp"
        partial.write_bytes(content)
        partial.replace(self.directory / f"{name}.eml")


class MailSink:
    """The sink as an async context manager, served on the running event loop."""

    def __init__(self, directory: Path, port: int, host: str = "127.0.0.1") -> None:
        self.directory = directory
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        handler = _StoreToDirectory(self.directory)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(handler, hostname="durapay-mailsink", loop=loop), self.host, self.port
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> MailSink:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


async def serve(directory: Path, port: int, host: str) -> None:
    async with MailSink(directory, port, host):
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8425)
    parser.add_argument("--dir", type=Path, default=Path(".data/mail"))
    args = parser.parse_args()
    asyncio.run(serve(args.dir, args.port, args.host))


if __name__ == "__main__":
    main()
