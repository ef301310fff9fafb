"""Why a host name does not resolve: it does not exist, or no name resolves right now. No Qt.

A failed lookup looks the same whether the name is mistyped or the machine is
offline (some resolvers even answer "no such name" for everything while the
network is down). So a failed name is compared with names known to exist:
if those resolve, the typed host is the problem; if they fail too, the
network is.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from enum import StrEnum


class Lookup(StrEnum):
    RESOLVES = "resolves"
    NO_SUCH_HOST = "no_such_host"  # others resolve, this one does not: a typo or a wrong URL
    NO_NAMES_RESOLVE = "no_names_resolve"  # nothing resolves: offline, or the name server is unreachable


async def resolves(host: str, timeout_s: float = 5.0) -> bool:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout_s):
            await loop.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError):  # socket.gaierror is an OSError
        return False
    return True


async def check_host(host: str, known_hosts: Iterable[str]) -> Lookup:
    """Does `host` resolve, and if not, is it the host or the network? `known_hosts` are names that exist."""
    if await resolves(host):
        return Lookup.RESOLVES
    references = [name for name in known_hosts if name.lower() != host.lower()]
    results = await asyncio.gather(*(resolves(name) for name in references))
    return Lookup.NO_SUCH_HOST if any(results) else Lookup.NO_NAMES_RESOLVE
