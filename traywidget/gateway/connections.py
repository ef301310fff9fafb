"""Inbound connections, bounded: no neighbour can starve the gateway of sockets.

A local program may open connections and never finish a request (a partial
request line, one header every few seconds), or just open very many. Each holds
a file descriptor; at the process's open-file limit the gateway could accept
nothing, not even the user's own tools. So:

- the soft open-file limit is raised to the hard one at start (most systems give
  1,024 soft under a much higher hard limit);
- a connection that has not sent a whole request within the web server's
  keep-alive timeout (server.IDLE_TIMEOUT_S) is closed, at its start as between
  two requests (aiohttp's keep-alive timer runs from the accept);
- inbound connections are capped (far above any normal use, well below the file
  limit); at the cap the oldest connection with no request in progress is closed
  to make room, and only when every connection is busy is the new one answered
  503 "traywidget ran out of connections";
- what happens in such a burst is logged in one line at most every BURST_LOG_S,
  never a line (let alone a traceback) per connection — including the event
  loop's own "accept() out of system resource" reports.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

# Far above normal use (a few tools, tens of streams), and never more than half the open-file limit:
# the other half is for the upstream connections each request also needs, the keyring, the logs.
MAX_INBOUND = 4096
# Upstream connections open at once (requests beyond it wait for one), at most a quarter of the file limit.
MAX_UPSTREAM = 1024
# File descriptors kept free for everything else (files, D-Bus, the engine's own HTTP client).
RESERVED_FILES = 64
BURST_LOG_S = 10.0
# What the hard limit is taken to be when it is "unlimited" (macOS refuses more than OPEN_MAX there).
UNLIMITED_AS = 10240


def raise_open_file_limit() -> int:
    """Raise the soft open-file limit to the hard one; the soft limit now in force."""
    if sys.platform == "win32":
        return 16384  # no such per-process limit on sockets to raise
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = UNLIMITED_AS if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.info("Cannot raise the open-file limit from %d to %d (%s)", soft, target, exc)
    return UNLIMITED_AS if soft == resource.RLIM_INFINITY else soft


def inbound_cap(file_limit: int) -> int:
    return max(16, min(MAX_INBOUND, (file_limit - RESERVED_FILES) // 2))


def upstream_cap(file_limit: int) -> int:
    return max(8, min(MAX_UPSTREAM, (file_limit - RESERVED_FILES) // 4))


class BurstLog:
    """One log line per burst: the first event is told at once, the ones after it summed up at most
    every `every` seconds."""

    def __init__(self, every: float = BURST_LOG_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._every = every
        self._clock = clock
        self._last_line = -every
        self._counts: dict[str, int] = {}

    def note(self, what: str) -> None:
        self._counts[what] = self._counts.get(what, 0) + 1
        if self._clock() - self._last_line >= self._every:
            self._last_line = self._clock()
            told = ", ".join(f"{what} ×{n}" for what, n in sorted(self._counts.items()))
            log.warning("Gateway under connection pressure: %s (next summary in %g s at the earliest)",
                        told, self._every)
            self._counts.clear()


def _busy_reply(cap: int) -> bytes:
    body = json.dumps({"error": {
        "message": f"traywidget ran out of connections: {cap} are open at once, the most it takes, and every one "
                   "is in use. Retry in a moment; if this lasts, a program on this computer is holding connections "
                   "open.",
        "type": "api_error", "param": None, "code": "too_many_connections"}}).encode()
    return (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
            b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


class ConnectionCap:
    """The protocol factory the listening sockets use: wraps the web server's, counts connections,
    makes room at the cap (module docstring). `busy` is the middleware marking a connection that
    has a request in progress."""

    def __init__(self, make_handler: Callable[[], asyncio.Protocol], cap: int, burst: BurstLog) -> None:
        self._make_handler = make_handler
        self.cap = cap
        self._burst = burst
        self._open: dict[asyncio.BaseTransport, None] = {}  # oldest first
        self._busy: dict[asyncio.BaseTransport, int] = {}

    @property
    def open_count(self) -> int:
        return len(self._open)

    def __call__(self) -> asyncio.Protocol:
        return _Counted(self, self._make_handler())

    def admit(self, transport: asyncio.BaseTransport) -> bool:
        if len(self._open) >= self.cap:
            idle = next((t for t in self._open if t not in self._busy), None)
            if idle is None:
                self._burst.note("refused (all busy)")
                return False
            self._burst.note("closed idle to make room")
            self._open.pop(idle)
            idle.abort()  # type: ignore[attr-defined]  # every transport a TCP server makes has abort()
        self._open[transport] = None
        return True

    def forget(self, transport: asyncio.BaseTransport) -> None:
        self._open.pop(transport, None)
        self._busy.pop(transport, None)

    @web.middleware
    async def busy(self, request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        transport = request.transport
        if transport is None:
            return await handler(request)
        self._busy[transport] = self._busy.get(transport, 0) + 1
        try:
            return await handler(request)
        finally:
            left = self._busy.get(transport, 1) - 1
            if left > 0:
                self._busy[transport] = left
            else:
                self._busy.pop(transport, None)


class _Counted(asyncio.Protocol):
    """One inbound connection: handed to the web server's handler once admitted."""

    def __init__(self, cap: ConnectionCap, inner: asyncio.Protocol) -> None:
        self._cap = cap
        self._inner = inner
        self._transport: asyncio.BaseTransport | None = None
        self._admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._admitted = self._cap.admit(transport)
        if not self._admitted:
            transport.write(_busy_reply(self._cap.cap))  # type: ignore[attr-defined]  # a TCP transport
            transport.close()
            return
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._admitted:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._admitted else None

    def pause_writing(self) -> None:
        if self._admitted:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._admitted:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._cap.forget(self._transport)
        if self._admitted:
            self._inner.connection_lost(exc)


class AcceptErrors:
    """The event loop reports each failed accept() (out of file descriptors) with a traceback; these
    become BurstLog lines, everything else goes to the handler that was there before."""

    def __init__(self, loop: asyncio.AbstractEventLoop, burst: BurstLog) -> None:
        self._loop = loop
        self._burst = burst
        self._previous = loop.get_exception_handler()
        loop.set_exception_handler(self._handle)

    def _handle(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if str(context.get("message", "")).startswith("socket.accept() out of system resource"):
            self._burst.note("accept() out of file descriptors")
            return
        if self._previous is not None:
            self._previous(loop, context)
        else:
            loop.default_exception_handler(context)

    def remove(self) -> None:
        if self._loop.get_exception_handler() == self._handle:
            self._loop.set_exception_handler(self._previous)
