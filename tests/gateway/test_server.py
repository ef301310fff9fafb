"""The Gateway object: where it listens, one per port, any loop in any thread,
its token (made on first use, rotatable while it runs), and the SSE event
boundaries it forwards on."""

from __future__ import annotations

import asyncio
import socket
import threading

import httpx
import pytest

from tests.gateway.conftest import eventually, upstream_account
from tests.gateway.upstream import sse_event
from traywidget.gateway.server import Gateway, GatewayError
from traywidget.gateway.sse import MAX_PENDING_BYTES, EventSplitter, split_events
from traywidget.gateway.token import (
    ensure_token,
    read_token,
    rotate_token,
    token_matches,
)
from traywidget.store.secrets import GATEWAY_TOKEN, MemorySecretStore


async def test_listens_on_loopback_v4_and_v6_only(start_gateway, upstream):
    running = await start_gateway([upstream_account(upstream)], {"up": "k"})
    port = running.gateway.port
    assert running.gateway.url_for("up") == f"http://127.0.0.1:{port}/up"
    async with httpx.AsyncClient() as client:
        for host in ("127.0.0.1", "[::1]"):
            reply = await client.get(f"http://{host}:{port}/up/echo", headers=running.auth)
            assert reply.status_code == 200, host
    addresses = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)} - {"127.0.0.1", "::1",
                                                                                            "127.0.1.1"}
    for address in addresses:  # a non-loopback address of this machine never answers
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family) as probe:
            probe.settimeout(1)
            assert probe.connect_ex((address, port)) != 0, address


async def test_a_second_gateway_on_the_port_says_who_holds_it(start_gateway, upstream):
    running = await start_gateway([upstream_account(upstream)], {"up": "k"})
    second = Gateway([], running.store)  # the same user's: it holds the same token, which the first proves
    with pytest.raises(GatewayError) as refused:
        await second.start(running.gateway.port)
    port = running.gateway.port
    assert str(refused.value).startswith(f"Port {port} is taken by another traywidget gateway (process ")
    assert refused.value.exit_code == 2
    assert not second.running


@pytest.mark.slow
async def test_a_port_taken_by_another_program():
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(GatewayError) as refused:
            await Gateway([], MemorySecretStore()).start(port)
    assert str(refused.value) == (f"Port {port} is taken by another program. Choose another port with --port "
                                  "(or gateway_port in the config file).")


async def test_runs_on_a_loop_in_another_thread(upstream):
    """Thread-agnostic: the tray runs it on a loop of its own, away from the GUI's."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    store = MemorySecretStore()
    store.set("up", "k")
    counts: list[tuple[str, int]] = []
    gateway = Gateway([upstream_account(upstream)], store, on_streams=lambda a, n: counts.append((a, n)))
    try:
        port = asyncio.run_coroutine_threadsafe(gateway.start(0), loop).result(10)
        async with httpx.AsyncClient() as client:
            reply = await client.get(f"http://127.0.0.1:{port}/up/sse?n=2", headers={"x-api-key": gateway.token})
        assert reply.content == sse_event(0) + sse_event(1) + b"data: [DONE]\n\n"
        # The gateway's own thread counts the stream down after its last byte, so that may come a moment later.
        await eventually(lambda: len(counts) == 2, what="the stream counted down")
        assert counts == [("up", 1), ("up", 0)]
        assert asyncio.run_coroutine_threadsafe(gateway.kill_all(), loop).result(10) == {}
    finally:
        asyncio.run_coroutine_threadsafe(gateway.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


async def test_the_token_is_made_on_first_use_and_kept(start_gateway, upstream):
    store = MemorySecretStore()
    first = Gateway([], store)
    await first.start(0)
    await first.stop()
    again = Gateway([], store)
    await again.start(0)
    await again.stop()
    assert first.token == again.token == store.get_secret(GATEWAY_TOKEN)
    assert first.token.startswith("twg-") and len(first.token) == 4 + 43  # 32 random bytes, base64url


async def test_a_rotated_token_takes_over_when_the_gateway_is_asked_to_reload(start_gateway, upstream, client):
    running = await start_gateway([upstream_account(upstream)], {"up": "k"})
    old = running.token
    new = rotate_token(running.store)
    # A token it does not know is refused from memory: a request never makes it read the keyring.
    assert (await client.get(running.url("up", "/echo"), headers={"x-api-key": new})).status_code == 401
    assert running.gateway.token == old
    reload = running.root + "/_traywidget/reload-token"
    assert (await client.post(reload, headers={"x-api-key": new})).status_code == 401
    answer = await client.post(reload, headers={"x-api-key": old})
    assert answer.status_code == 200 and answer.json() == {"changed": True}
    assert running.gateway.token == new != old
    assert (await client.get(running.url("up", "/echo"), headers={"x-api-key": new})).status_code == 200
    assert (await client.get(running.url("up", "/echo"), headers={"x-api-key": old})).status_code == 401
    again = await client.post(reload, headers={"x-api-key": new})
    assert again.status_code == 200 and again.json() == {"changed": False}


def test_token_helpers():
    store = MemorySecretStore()
    assert read_token(store) is None
    token = ensure_token(store)
    assert ensure_token(store) == token == read_token(store)
    rotated = rotate_token(store)
    assert rotated != token and read_token(store) == rotated
    assert token_matches(rotated, rotated)
    assert not token_matches(token, rotated) and not token_matches(None, rotated) and not token_matches("", "")
    assert not token_matches("twg-\udcff", rotated)


# -- SSE event boundaries ------------------------------------------------------------


def test_splitter_hands_out_whole_events_and_holds_only_an_unfinished_one():
    splitter = EventSplitter()
    assert splitter.feed(b"data: 1\n\ndata: 2") == b"data: 1\n\n"
    assert splitter.feed(b"2\n") == b""
    assert splitter.feed(b"\n: comment\n\nda") == b"data: 22\n\n: comment\n\n"
    assert splitter.aligned
    assert splitter.feed(b"ta: 3\r\n\r\n") == b"data: 3\r\n\r\n"
    assert splitter.feed(b"event: x\r\rdata: y") == b"event: x\r\r"
    assert splitter.flush() == b"data: y" and not splitter.aligned
    assert splitter.flush() == b""


def test_splitter_passes_an_oversized_event_on_rather_than_growing():
    splitter = EventSplitter()
    big = b"data: " + b"x" * MAX_PENDING_BYTES
    assert splitter.feed(big[:100]) == b""
    assert splitter.feed(big[100:]) == big and not splitter.aligned
    assert splitter.feed(b"\n\ndata: 1\n\n") == b"\n\ndata: 1\n\n" and splitter.aligned


def test_split_events():
    assert split_events(b"data: 1\n\n: c\n\ndata: 2\r\n\r\n\n\n") == [b"data: 1", b": c", b"data: 2"]


async def test_the_proxy_settings_are_honoured_once_per_host(monkeypatch):
    from yarl import URL

    from traywidget.gateway.proxy import ProxyChoice

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    choice = ProxyChoice()
    assert await choice.proxy_for(URL("https://api.routing.run/v1/chat/completions")) == URL(
        "http://proxy.example:3128")
    assert await choice.proxy_for(URL("https://internal.example/v1/models")) is None
    assert await choice.proxy_for(URL("http://127.0.0.1:9/v1")) is None  # no HTTP_PROXY set
    monkeypatch.delenv("HTTPS_PROXY")
    # Chosen once per host: the environment of a running process does not change under it.
    assert await choice.proxy_for(URL("https://api.routing.run/v1/models")) == URL("http://proxy.example:3128")
