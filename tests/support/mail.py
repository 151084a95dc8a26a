"""The mail sink in a test: served in the test's own event loop on a free 127.0.0.1 port, its
messages read back parsed, in order of arrival."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from sandbox.mailsink import MailSink
from tests.support.net import free_port


@asynccontextmanager
async def running_mail_sink(directory: Path, port: int | None = None) -> AsyncIterator[MailSink]:
    """A sink storing into ``directory``; pass ``port`` to bring one up where another was down."""
    async with MailSink(directory, port if port is not None else free_port()) as sink:
        yield sink


def received_messages(directory: Path) -> list[EmailMessage]:
    """Every message the sink stored in ``directory``, oldest first."""
    parser = BytesParser(policy=policy.default)
    messages: list[EmailMessage] = []
    for path in sorted(directory.glob("*.eml")):
        message = parser.parsebytes(path.read_bytes())
        assert isinstance(message, EmailMessage)
        messages.append(message)
    return messages
