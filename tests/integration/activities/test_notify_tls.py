"""send_mail against SMTP servers that behave like a production relay: STARTTLS or implicit TLS
with a certificate the client verifies, and a login accepted only over TLS. A relay that cannot
encrypt gets no mail and no password."""

from __future__ import annotations

import asyncio
import ssl
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiosmtplib
import pytest
import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.notify import NotifyActivities, SmtpRelay
from contracts.mail import MailRequest, MailTemplate
from db.migrate import upgrade_to_head
from db.session import create_engine, create_session_factory

Sessions = async_sessionmaker[AsyncSession]

USERNAME, PASSWORD = "durapay", "relay-password"
REQUEST = MailRequest(
    key="sub_1:payment_failed",
    to="ada@example.com",
    template=MailTemplate.PAYMENT_FAILED,
    context={
        "plan_name": "Pro (monthly)",
        "amount": "2900",
        "currency": "USD",
        "update_payment_method_url": "https://shop.example/billing?subscription=sub_1",
    },
)


@dataclass
class Relay:
    """What the relay saw: each accepted mail with whether it came over TLS, and each login."""

    port: int = 0
    delivered: list[tuple[str, bool]] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.delivered.append((",".join(envelope.rcpt_tos), encrypted(server)))
        return "250 OK"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login = data.login.decode()
        self.logins.append((login, encrypted(server)))
        return AuthResult(success=(login, data.password.decode()) == (USERNAME, PASSWORD))


def encrypted(server: SMTP) -> bool:
    """Whether the connection is TLS now (after STARTTLS, or from the first byte)."""
    return (
        server.transport is not None and server.transport.get_extra_info("ssl_object") is not None
    )


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trusted(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test CA stands in for the system's roots, which is all the client ever trusts."""
    roots = tmp_path / "roots.pem"
    ca.cert_pem.write_to_path(str(roots))
    monkeypatch.setenv("SSL_CERT_FILE", str(roots))


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@asynccontextmanager
async def running_relay(
    *, starttls: ssl.SSLContext | None = None, implicit: ssl.SSLContext | None = None
) -> AsyncIterator[Relay]:
    relay = Relay()
    loop = asyncio.get_running_loop()

    def protocol() -> SMTP:
        with warnings.catch_warnings():
            # aiosmtpd knows only STARTTLS as TLS and warns about AUTH without it; an
            # implicit-TLS socket is encrypted before the first SMTP byte.
            warnings.simplefilter("ignore")
            return SMTP(
                relay,
                hostname="relay.test",
                tls_context=starttls,
                require_starttls=starttls is not None,
                auth_required=True,
                auth_require_tls=implicit is None,
                authenticator=relay.authenticate,
                loop=loop,
            )

    server = await loop.create_server(protocol, "127.0.0.1", 0, ssl=implicit)
    relay.port = server.sockets[0].getsockname()[1]
    try:
        yield relay
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'durapay.db'}"
    await upgrade_to_head(url)
    engine = create_engine(url)
    yield create_session_factory(engine)
    await engine.dispose()


def notify(sessions: Sessions, relay: SmtpRelay) -> NotifyActivities:
    return NotifyActivities(sessions, relay, "billing@durapay.example")


@pytest.mark.usefixtures("trusted")
async def test_starttls_relay_gets_the_login_and_the_mail_encrypted(
    sessions: Sessions, ca: trustme.CA
) -> None:
    async with running_relay(starttls=server_context(ca)) as relay:
        smtp = SmtpRelay("127.0.0.1", relay.port, "starttls", USERNAME, PASSWORD)
        assert await notify(sessions, smtp).send_mail(REQUEST)
    assert relay.logins == [(USERNAME, True)]
    assert relay.delivered == [("ada@example.com", True)]


@pytest.mark.usefixtures("trusted")
async def test_implicit_tls_relay_gets_the_login_and_the_mail(
    sessions: Sessions, ca: trustme.CA
) -> None:
    async with running_relay(implicit=server_context(ca)) as relay:
        smtp = SmtpRelay("127.0.0.1", relay.port, "implicit", USERNAME, PASSWORD)
        assert await notify(sessions, smtp).send_mail(REQUEST)
    assert relay.logins == [(USERNAME, True)]
    assert relay.delivered == [("ada@example.com", True)]


@pytest.mark.usefixtures("trusted")
async def test_a_relay_without_starttls_gets_neither_password_nor_mail(sessions: Sessions) -> None:
    async with running_relay() as relay:
        smtp = SmtpRelay("127.0.0.1", relay.port, "starttls", USERNAME, PASSWORD)
        with pytest.raises(aiosmtplib.SMTPException, match="STARTTLS"):
            await notify(sessions, smtp).send_mail(REQUEST)
    assert relay.logins == []
    assert relay.delivered == []


async def test_a_certificate_the_system_does_not_trust_is_refused(
    sessions: Sessions, ca: trustme.CA
) -> None:
    async with running_relay(starttls=server_context(ca)) as relay:
        smtp = SmtpRelay("127.0.0.1", relay.port, "starttls", USERNAME, PASSWORD)
        with pytest.raises(ssl.SSLCertVerificationError):
            await notify(sessions, smtp).send_mail(REQUEST)
    assert relay.logins == []
    assert relay.delivered == []
