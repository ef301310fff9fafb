"""Kill all streams through the gateway: every held stream stops at once on every
provider — the upstream connection closed (the provider stops generating), the
client told so in a form it understands — and a client that leaves closes its
upstream too."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest

from tests.gateway.conftest import eventually, sim_accounts, upstream_account
from traywidget.providers.from_traffic import STOPPED_MESSAGE

CHAT = "/chat/completions"
STREAM = {"model": "m", "stream": True, "max_tokens": 10_000, "messages": []}


async def _open(client: httpx.AsyncClient, url: str, headers: dict, **kwargs):
    """An open streamed response whose first bytes have arrived: (context, response, first chunk, rest)."""
    context = client.stream("POST", url, headers=headers, **kwargs)
    reply = await context.__aenter__()
    chunks = reply.aiter_raw()
    first = await asyncio.wait_for(chunks.__anext__(), 10)
    return context, reply, first, chunks


async def test_kill_all_stops_streams_on_every_provider(start_gateway, sim, client):
    accounts, keys = sim_accounts(sim)
    running = await start_gateway(accounts, keys)
    opened = {a: await _open(client, running.url(a, CHAT), running.auth, json=STREAM) for a in ("rr", "or", "rw")}
    assert running.gateway.stream_counts() == {"rr": 1, "or": 1, "rw": 1}
    assert sim.sim.stream_stats(keys["or"])["active"] == 1

    stopped = await running.gateway.kill_all()

    assert stopped == {"rr": 1, "or": 1, "rw": 1}
    tails = {}
    for account_id, (context, _, _, chunks) in opened.items():
        tails[account_id] = b"".join([chunk async for chunk in chunks])  # ends cleanly: no exception
        await context.__aexit__(None, None, None)
    for account_id, tail in tails.items():
        events = [e for e in tail.split(b"\n\n") if e]
        assert events[-1] == b"data: [DONE]", account_id
        error = json.loads(events[-2][6:])["error"]
        assert error["message"] == STOPPED_MESSAGE, account_id
    assert json.loads([e for e in tails["or"].split(b"\n\n") if e][-2][6:])["choices"][0]["finish_reason"] == "error"
    # The provider side saw every connection go: no orphaned generation.
    await eventually(lambda: all(sim.sim.stream_stats(key)["active"] == 0 for key in keys.values()),
                     what="upstreams closed")
    assert {a: sim.sim.stream_stats(key)["cancelled"] for a, key in keys.items()} == {"rr": 1, "or": 1, "rw": 1}
    assert running.gateway.stream_counts() == {"rr": 0, "or": 0, "rw": 0}
    assert sorted(running.counts[-3:]) == [("or", 0), ("rr", 0), ("rw", 0)]


async def test_a_request_still_waiting_gets_an_error_in_the_providers_shape(start_gateway, upstream, client):
    accounts = [upstream_account(upstream, "or", "openrouter"), upstream_account(upstream, "rr", "routing.run")]
    running = await start_gateway(accounts, {"or": "k", "rr": "k"})
    waiting = [asyncio.ensure_future(client.post(running.url(a, "/hang"), headers=running.auth, json={}))
               for a in ("or", "rr")]
    await eventually(lambda: upstream.open_handlers == 2, what="both requests upstream")
    assert await running.gateway.kill_all() == {"or": 1, "rr": 1}
    openrouter, routing = await asyncio.gather(*waiting)
    assert (openrouter.status_code, openrouter.headers["x-should-retry"]) == (499, "false")
    assert openrouter.json() == {"error": {"code": 499, "message": STOPPED_MESSAGE,
                                           "metadata": {"error_type": "stream_stopped"}}}
    assert (routing.status_code, routing.text, routing.headers["X-Error-Code"]) == (
        499, STOPPED_MESSAGE, "STREAM_STOPPED")
    await asyncio.wait_for(upstream.closed.wait(), 5)


async def test_an_anthropic_style_stream_ends_with_an_error_event(start_gateway, upstream, client):
    running = await start_gateway([upstream_account(upstream, "an")], {"an": "sk-ant"})
    context, reply, first, chunks = await _open(client, running.url("an", "/gated/messages"),
                                                {"x-api-key": running.token})
    await running.gateway.kill_all()
    tail = b"".join([chunk async for chunk in chunks])
    await context.__aexit__(None, None, None)
    name, data = tail.strip().split(b"\n")
    assert name == b"event: error"
    assert json.loads(data[6:]) == {"type": "error", "error": {"type": "api_error", "message": STOPPED_MESSAGE}}
    await asyncio.wait_for(upstream.closed.wait(), 5)


async def test_a_plain_body_cut_short_is_not_passed_off_as_whole(start_gateway, upstream, client):
    running = await start_gateway([upstream_account(upstream)], {"up": "k"})
    context, reply, first, chunks = await _open(client, running.url("up", "/flood"), running.auth)
    await running.gateway.kill_all()
    with pytest.raises(httpx.RemoteProtocolError):
        async for _ in chunks:
            pass
    await context.__aexit__(None, None, None)
    await asyncio.wait_for(upstream.closed.wait(), 5)


async def test_a_compressed_stream_still_ends_with_the_stop_event(start_gateway, sim, client):
    accounts, keys = sim_accounts(sim)
    running = await start_gateway(accounts, keys)
    sim.sim.script_streams(keys["or"], gzip=True)
    gzip_ok = {"Accept-Encoding": "gzip"}
    # The provider does compress this stream when asked for gzip (as a CDN in front of it would).
    direct = await client.post(sim.url("openrouter") + CHAT, json={**STREAM, "max_tokens": 3},
                               headers={"Authorization": f"Bearer {keys['or']}", **gzip_ok})
    assert direct.headers["content-encoding"] == "gzip" and direct.text.endswith("data: [DONE]\n\n")
    context, reply, first, chunks = await _open(client, running.url("or", CHAT), {**running.auth, **gzip_ok},
                                                json=STREAM)
    assert sim.sim.requests(key=keys["or"])[-1].headers.get("accept-encoding") == "gzip"  # asked as the tool asked
    assert "content-encoding" not in reply.headers and first.startswith(b": OPENROUTER PROCESSING\n\n")  # decoded
    assert await running.gateway.kill_all() == {"or": 1}
    tail = b"".join([chunk async for chunk in chunks])  # ends cleanly: no exception
    await context.__aexit__(None, None, None)
    events = [e for e in (first + tail).split(b"\n\n") if e]
    assert events[-1] == b"data: [DONE]"
    assert json.loads(events[-2][6:])["error"]["message"] == STOPPED_MESSAGE
    await eventually(lambda: sim.sim.stream_stats(keys["or"])["active"] == 0, what="upstream closed")


async def test_a_stream_in_a_coding_the_gateway_cannot_undo_is_stopped_by_closing_it(start_gateway, upstream,
                                                                                      client):
    running = await start_gateway([upstream_account(upstream)], {"up": "k"})
    context, _, _, chunks = await _open(client, running.url("up", "/brotli-sse"), running.auth)
    assert await running.gateway.kill_all() == {"up": 1}
    with pytest.raises(httpx.RemoteProtocolError):  # it cannot carry an event of ours: it breaks off
        async for _ in chunks:
            pass
    await context.__aexit__(None, None, None)
    await asyncio.wait_for(upstream.closed.wait(), 5)


async def test_kill_reaches_a_client_that_never_reads(start_gateway, upstream):
    running = await start_gateway([upstream_account(upstream)], {"up": "k"})
    reader, writer = await asyncio.open_connection("127.0.0.1", running.gateway.port)
    writer.write(f"GET /up/flood HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {running.token}\r\n\r\n"
                 .encode())
    await writer.drain()
    await eventually(lambda: upstream.flood_sent > 0, what="the flood started")
    assert await running.gateway.kill_all() == {"up": 1}
    await asyncio.wait_for(upstream.closed.wait(), 5)
    writer.close()


async def test_a_client_leaving_mid_stream_closes_the_upstream(start_gateway, sim, client):
    accounts, keys = sim_accounts(sim)
    running = await start_gateway(accounts, keys)
    context, reply, first, chunks = await _open(client, running.url("or", CHAT), running.auth, json=STREAM)
    assert sim.sim.stream_stats(keys["or"])["active"] == 1
    await context.__aexit__(None, None, None)  # the client hangs up
    await eventually(lambda: sim.sim.stream_stats(keys["or"])["active"] == 0, what="upstream closed")
    assert sim.sim.stream_stats(keys["or"])["cancelled"] == 1
    await eventually(lambda: running.gateway.stream_counts()["or"] == 0, what="registry emptied")


@pytest.mark.slow
async def test_clients_leaving_mid_body_are_an_ordinary_end(start_gateway, upstream, caplog):
    """Clients dropping flowing bodies: nothing logged, every exchange released. (The race where a
    write meets a transport aiohttp has just begun closing depends on scheduling across processes;
    `python -m bench gateway`'s hang-up measure is where it showed.)"""
    caplog.set_level(logging.DEBUG)
    running = await start_gateway([upstream_account(upstream)], {"up": "k"})
    for _ in range(5):
        clients = []
        for _ in range(30):
            reader, writer = await asyncio.open_connection("127.0.0.1", running.gateway.port)
            writer.write(f"GET /up/flood HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {running.token}"
                         "\r\n\r\n".encode())
            clients.append((reader, writer))
        for reader, _ in clients:
            await reader.read(100_000)  # every body is flowing
        for _, writer in clients:
            writer.close()  # all at once, with data still unread: the gateway may be mid-write
        await eventually(lambda: running.gateway.stream_counts() == {"up": 0})
    # Nothing the gateway logs (its web server's log included) is a warning or an error.
    assert [r for r in caplog.records if r.name.startswith("traywidget") and r.levelno >= logging.WARNING] == []


async def test_a_client_leaving_while_waiting_closes_the_upstream(start_gateway, upstream, client):
    running = await start_gateway([upstream_account(upstream)], {"up": "k"})
    waiting = asyncio.ensure_future(client.post(running.url("up", "/hang"), headers=running.auth, json={}))
    await eventually(lambda: upstream.open_handlers == 1, what="request upstream")
    waiting.cancel()
    await asyncio.wait_for(upstream.closed.wait(), 5)
    await eventually(lambda: running.gateway.stream_counts()["up"] == 0, what="registry emptied")


async def test_stop_ends_held_streams_cleanly_for_their_clients(start_gateway, upstream, client):
    running = await start_gateway([upstream_account(upstream)], {"up": "k"})
    context, reply, first, chunks = await _open(client, running.url("up", "/gated"), running.auth)
    await running.gateway.stop()
    tail = b"".join([chunk async for chunk in chunks])
    await context.__aexit__(None, None, None)
    assert STOPPED_MESSAGE.encode() in tail and tail.endswith(b"data: [DONE]\n\n")
    assert not running.gateway.running
    await asyncio.wait_for(upstream.closed.wait(), 5)


async def test_kill_with_nothing_held(start_gateway, upstream):
    running = await start_gateway([upstream_account(upstream)], {"up": "k"})
    assert await running.gateway.kill_all() == {}


@pytest.mark.parametrize(("body", "said"), [
    (b"[1]", "expected a JSON object"),
    (b'{"accounts": "or"}', "accounts must be a list of account ids or null"),
    (b'{"hold": true, "minutes": -5}', "minutes must be a number above 0 or null"),
    (b"{not json", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
])
async def test_a_bad_kill_or_resume_order_is_told_and_changes_nothing(start_gateway, sim, client, body, said):
    accounts, keys = sim_accounts(sim)
    running = await start_gateway(accounts, keys)
    for what in ("kill", "resume"):
        reply = await client.post(running.root + f"/_traywidget/{what}", content=body,
                                  headers={**running.auth, "Content-Type": "application/json"})
        assert reply.status_code == 400
        assert reply.json()["error"] == {"message": f"Not a {what} order: {said}", "type": "invalid_request_error",
                                         "param": None, "code": f"bad_{what}_order"}
    assert running.gateway.holds() == {}
    wrong = await client.post(running.root + "/_traywidget/kill", content=body, headers={"Authorization": "Bearer no"})
    assert wrong.status_code == 401  # the token first: a stranger learns nothing of the order's form
