"""The request line's target in absolute form (`GET http://127.0.0.1:P/acct/path HTTP/1.1`, as a
client that takes the gateway for a forward proxy sends it): routed by its path, the host not glued
into what goes upstream; and a target naming a host that is not loopback is refused as a foreign
Host header is. Raw sockets: HTTP clients do not send this form to a server they address directly."""

from __future__ import annotations

import asyncio
import json

from tests.gateway.conftest import upstream_account


async def _raw(port: int, request_line: str, headers: dict[str, str]) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [request_line] + [f"{name}: {value}" for name, value in headers.items()] + ["Connection: close"]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


async def test_an_absolute_form_target_is_routed_by_its_path(start_gateway, upstream):
    running = await start_gateway([upstream_account(upstream)], {"up": "k"})
    port = running.gateway.port
    status, body = await _raw(port, f"GET http://127.0.0.1:{port}/up/echo?x=1 HTTP/1.1",
                              {"Host": f"127.0.0.1:{port}", **running.auth})
    assert status == 200
    assert json.loads(body)["path"] == "/up/v1/echo?x=1"
    assert [r["path"] for r in upstream.requests] == ["/up/v1/echo?x=1"]


async def test_an_absolute_form_target_naming_a_foreign_host_is_refused(start_gateway, upstream):
    running = await start_gateway([upstream_account(upstream)], {"up": "k"})
    port = running.gateway.port
    for target in (f"http://evil.example:{port}/up/echo", "http://evil.example/_traywidget/status"):
        status, body = await _raw(port, f"GET {target} HTTP/1.1", {"Host": f"127.0.0.1:{port}", **running.auth})
        assert status == 403 and json.loads(body)["error"]["code"] == "host_refused", target
    assert upstream.requests == []
