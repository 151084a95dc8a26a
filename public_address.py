"""Whether a merchant's webhook URL may be called from production: https, and every address its
host resolves to is a public one. Checked when an endpoint is registered and again before every
delivery attempt, because what a name resolves to can change after it was registered."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class AddressRefused(Exception):
    """The URL may not be called: its reason is the exception's message."""


async def check_public(url: str) -> None:
    """Raise ``AddressRefused`` unless ``url`` is https to a host with only public addresses."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise AddressRefused("only https URLs are called")
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise AddressRefused("the host does not resolve") from error
    addresses = {ipaddress.ip_address(str(info[4][0])) for info in found}
    if not addresses or not all(address.is_global for address in addresses):
        raise AddressRefused("the host resolves to a non-public address")
