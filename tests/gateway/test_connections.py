"""Inbound connections, bounded (gateway/connections.py), over real sockets: a small cap around a
real aiohttp server makes room by closing the oldest idle connection, answers 503 only when every
connection is busy, and says so in one log line per burst. And a connection upstream that fails for
want of something on this computer is told as local (503), not as the provider's fault."""

from __future__ import annotations

import asyncio
import errno
import json
import logging

import aiohttp
import pytest
from aiohttp import web

from traywidget.gateway.connections import (
    AcceptErrors,
    BurstLog,
    ConnectionCap,
    inbound_cap,
    upstream_cap,
)
from traywidget.gateway.proxy import _local_shortage


async def _request(port: int, path: str = "/slow") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    await writer.drain()
    return reader, writer


async def _wait(predicate, what: str) -> None:
    async with asyncio.timeout(5):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_the_oldest_idle_connection_makes_room_and_a_full_house_gets_503(caplog):
    caplog.set_level(logging.WARNING, "traywidget.gateway.connections")
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="done")

    holder: list[ConnectionCap] = []

    @web.middleware
    async def busy(request, handler):
        return await holder[0].busy(request, handler)

    app = web.Application(middlewares=[busy])
    app.router.add_get("/slow", slow)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    cap = ConnectionCap(lambda: runner.server(), 2, BurstLog(every=3600))
    holder.append(cap)
    server = await asyncio.get_running_loop().create_server(cap, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        idle_reader, _ = await asyncio.open_connection("127.0.0.1", port)  # never sends a thing
        await _wait(lambda: cap.open_count == 1, "the idle connection counted")
        first = await _request(port)
        await _wait(lambda: cap.open_count == 2, "the busy connection counted")
        second = await _request(port)  # at the cap: the idle one is closed for it
        assert await asyncio.wait_for(idle_reader.read(), 5) == b""
        await _wait(lambda: cap.open_count == 2, "room made")
        refused_reader, _ = await asyncio.open_connection("127.0.0.1", port)  # both busy now: refused
        answer = await asyncio.wait_for(refused_reader.read(), 5)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503 Service Unavailable\r\n") and b"Retry-After: 1" in head
        error = json.loads(body)["error"]
        assert error["code"] == "too_many_connections"
        assert error["message"].startswith("traywidget ran out of connections: 2 are open at once")
        release.set()
        for reader, _ in (first, second):
            assert (await asyncio.wait_for(reader.readuntil(b"done"), 5)).startswith(b"HTTP/1.1 200 OK")
        # One line for the burst (the first event; the rest wait for the next summary).
        lines = [r.getMessage() for r in caplog.records]
        assert lines == [("Gateway under connection pressure: closed idle to make room ×1 "
                          "(next summary in 3600 s at the earliest)")]
    finally:
        release.set()
        server.close()
        await runner.cleanup()


def test_caps_follow_the_open_file_limit():
    assert (inbound_cap(1024), upstream_cap(1024)) == (480, 240)
    assert (inbound_cap(1_048_576), upstream_cap(1_048_576)) == (4096, 1024)
    assert (inbound_cap(64), upstream_cap(64)) == (16, 8)


def test_burst_log_sums_up_between_lines(caplog):
    caplog.set_level(logging.WARNING, "traywidget.gateway.connections")
    now = [0.0]
    burst = BurstLog(every=10, clock=lambda: now[0])
    for _ in range(5):
        burst.note("refused (all busy)")
    now[0] = 10.0
    burst.note("closed idle to make room")
    assert [r.getMessage() for r in caplog.records] == [
        "Gateway under connection pressure: refused (all busy) ×1 (next summary in 10 s at the earliest)",
        ("Gateway under connection pressure: closed idle to make room ×1, refused (all busy) ×4 "
         "(next summary in 10 s at the earliest)")]


@pytest.mark.parametrize(("number", "what"), [
    (errno.EMFILE, "open files"), (errno.ENFILE, "open files"), (errno.EADDRNOTAVAIL, "local ports"),
    (errno.ECONNREFUSED, None),
])
def test_a_local_shortage_is_told_apart_from_the_provider(number, what):
    assert _local_shortage(aiohttp.ClientOSError(number, "x")) == what
    try:  # found as the cause of another error too
        try:
            raise OSError(number, "x")
        except OSError as cause:
            raise TimeoutError() from cause
    except TimeoutError as wrapped:
        assert _local_shortage(wrapped) == what


async def test_the_loops_accept_failures_become_one_line_and_other_reports_pass_on(caplog):
    caplog.set_level(logging.WARNING)
    loop = asyncio.get_running_loop()
    passed_on: list[str] = []
    loop.set_exception_handler(lambda _, context: passed_on.append(context["message"]))
    errors = AcceptErrors(loop, BurstLog(every=3600))
    try:
        for _ in range(500):  # what asyncio reports for each failed accept() at the file limit
            loop.call_exception_handler({"message": "socket.accept() out of system resource",
                                         "exception": OSError(errno.EMFILE, "Too many open files")})
        loop.call_exception_handler({"message": "something else"})
        errors.remove()  # the handler that was there before is back
        loop.call_exception_handler({"message": "socket.accept() out of system resource"})
    finally:
        errors.remove()
        loop.set_exception_handler(None)
    assert [r.getMessage() for r in caplog.records] == [
        ("Gateway under connection pressure: accept() out of file descriptors ×1 "
         "(next summary in 3600 s at the earliest)")]
    assert passed_on == ["something else", "socket.accept() out of system resource"]
