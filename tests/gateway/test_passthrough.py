"""Faithful pass-through over real sockets: bodies byte for byte both ways
(plain, streamed, binary, multi-megabyte, compressed), every method and path,
status codes and headers, SSE events as they arrive."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json

import httpx
import pytest

from tests.gateway.conftest import sim_accounts, upstream_account
from tests.gateway.upstream import pseudo_random, sse_event
from traywidget.gateway.proxy import upstream_url


async def _direct_and_through(client, running, upstream, path: str, **kwargs) -> tuple[httpx.Response, httpx.Response]:
    headers = kwargs.pop("headers", {})
    direct = await client.request(kwargs.pop("method", "GET"), upstream.base("up") + path, headers=headers, **kwargs)
    through = await client.request(direct.request.method, running.url("up", path), headers={**headers, **running.auth},
                                   **kwargs)
    return direct, through


@pytest.mark.parametrize("n", [0, 1, 65_537, 5 * 2**20 + 3])
async def test_binary_bodies_byte_for_byte(start_gateway, upstream, client, n):
    running = await start_gateway([upstream_account(upstream)], {"up": "sk-up"})
    direct, through = await _direct_and_through(client, running, upstream, f"/bytes?n={n}&seed={n}")
    assert through.status_code == direct.status_code == 200
    assert through.content == direct.content == pseudo_random(n, n)
    assert through.headers["content-length"] == str(n)


async def test_request_bodies_go_up_byte_for_byte_streamed(start_gateway, upstream, client):
    running = await start_gateway([upstream_account(upstream)], {"up": "sk-up"})
    body = pseudo_random(3 * 2**20 + 11, 5)

    async def chunks():
        for i in range(0, len(body), 100_000):
            yield body[i:i + 100_000]

    sized = await client.post(running.url("up", "/echo"), content=body, headers=running.auth)
    chunked = await client.post(running.url("up", "/echo"), content=chunks(), headers=running.auth)
    for reply in (sized, chunked):
        echoed = reply.json()
        assert (echoed["length"], echoed["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())
    assert dict(sized.json()["headers"])["Content-Length"] == str(len(body))
    assert "Transfer-Encoding" not in dict(sized.json()["headers"])


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_every_method_and_the_raw_path_and_query_pass(start_gateway, upstream, client, method):
    running = await start_gateway([upstream_account(upstream)], {"up": "sk-up"})
    reply = await client.request(method, running.url("up", "/echo/files/a%2Fb%20c?x=1&y=%C3%A9&x=2"),
                                 headers=running.auth)
    assert reply.status_code == 200
    assert reply.json()["method"] == method
    assert reply.json()["path"] == "/up/v1/echo/files/a%2Fb%20c?x=1&y=%C3%A9&x=2"
    assert reply.headers["X-Upstream"] == "echo"


async def test_headers_pass_except_hop_by_hop_and_credentials(start_gateway, upstream, client):
    running = await start_gateway([upstream_account(upstream)], {"up": "sk-real-upstream-key"})
    headers = {**running.auth, "X-Custom": "kept", "anthropic-version": "2023-06-01", "Accept-Encoding": "gzip",
               "Connection": "keep-alive, X-Drop-Me", "X-Drop-Me": "hop", "Keep-Alive": "timeout=5",
               "User-Agent": "tool/1.0", "Cookie": "a=b"}
    reply = await client.post(running.url("up", "/echo"), json={"a": 1}, headers=headers)
    received = {}
    for name, value in reply.json()["headers"]:
        received.setdefault(name.lower(), []).append(value)
    assert received["authorization"] == ["Bearer sk-real-upstream-key"]
    assert received["x-custom"] == ["kept"] and received["anthropic-version"] == ["2023-06-01"]
    assert received["accept-encoding"] == ["gzip"] and received["user-agent"] == ["tool/1.0"]
    assert received["cookie"] == ["a=b"] and received["content-type"] == ["application/json"]
    assert received["host"] == [f"127.0.0.1:{upstream.port}"]
    for gone in ("x-drop-me", "keep-alive", "x-api-key", "origin", "referer"):
        assert gone not in received
    assert running.token not in json.dumps(reply.json())


async def test_the_real_key_goes_in_each_providers_own_form(start_gateway, upstream, client):
    accounts = [upstream_account(upstream, "rr", "routing.run"), upstream_account(upstream, "or", "openrouter"),
                upstream_account(upstream, "oc", "openai-compatible")]
    running = await start_gateway(accounts, {"rr": "rk_real", "or": "sk-or-v1-real", "oc": "sk-ant-real"})
    forms = {}
    for account_id, token_header in (("rr", "Authorization"), ("or", "X-API-Key"), ("oc", "x-api-key")):
        value = f"Bearer {running.token}" if token_header == "Authorization" else running.token
        reply = await client.get(running.url(account_id, "/echo"), headers={token_header: value})
        forms[account_id] = [(n.lower(), v) for n, v in reply.json()["headers"]
                             if n.lower() in ("authorization", "x-api-key")]
    assert forms == {"rr": [("x-api-key", "rk_real")], "or": [("authorization", "Bearer sk-or-v1-real")],
                     "oc": [("x-api-key", "sk-ant-real")]}


async def test_the_upstream_connection_is_kept_alive(start_gateway, upstream, client):
    running = await start_gateway([upstream_account(upstream)], {"up": "sk-up"})
    for path in ("/echo", "/bytes?n=70000", "/sse?n=3", "/status/404", "/echo"):
        await client.get(running.url("up", path), headers=running.auth)
    assert len(upstream.peers) == 1


async def test_compression_is_left_to_the_two_ends(start_gateway, upstream, client):
    running = await start_gateway([upstream_account(upstream)], {"up": "sk-up"})
    raw_request = client.build_request("GET", running.url("up", "/gzip"), headers=running.auth)
    reply = await client.send(raw_request, stream=True)
    raw = b"".join([chunk async for chunk in reply.aiter_raw()])
    await reply.aclose()
    assert reply.headers["content-encoding"] == "gzip"
    assert raw == gzip.compress(b'{"hello": "compressed"}' * 100, mtime=0)
    assert len(raw) == int(reply.headers["content-length"])


@pytest.mark.parametrize("status", [201, 204, 400, 404, 500, 503])
async def test_status_codes_pass_through(start_gateway, upstream, client, status):
    running = await start_gateway([upstream_account(upstream)], {"up": "sk-up"})
    direct, through = await _direct_and_through(client, running, upstream, f"/status/{status}")
    assert through.status_code == direct.status_code == status
    assert through.content == direct.content


async def test_head_has_headers_and_no_body(start_gateway, upstream, client):
    running = await start_gateway([upstream_account(upstream)], {"up": "sk-up"})
    reply = await client.head(running.url("up", "/bytes?n=1234"), headers=running.auth)
    assert (reply.status_code, reply.content, reply.headers["content-length"]) == (200, b"", "1234")


async def test_sse_stream_is_byte_exact(start_gateway, upstream, client):
    running = await start_gateway([upstream_account(upstream)], {"up": "sk-up"})
    direct, through = await _direct_and_through(client, running, upstream, "/sse?n=300")
    assert through.content == direct.content == b"".join(sse_event(i) for i in range(300)) + b"data: [DONE]\n\n"
    assert through.headers["content-type"] == "text/event-stream"


async def test_sse_events_reach_the_client_as_they_arrive(start_gateway, upstream, client):
    running = await start_gateway([upstream_account(upstream)], {"up": "sk-up"})
    async with client.stream("POST", running.url("up", "/gated"), headers=running.auth) as reply:
        chunks = reply.aiter_raw()
        # The first event arrives while the upstream still holds the second back.
        assert await asyncio.wait_for(chunks.__anext__(), 5) == sse_event(0)
        assert not upstream.gate.is_set()
        upstream.release()
        assert b"".join([chunk async for chunk in chunks]) == sse_event(1)


@pytest.mark.parametrize("provider", ["routing.run", "openrouter", "routeway"])
async def test_simulator_streams_of_every_provider_pass(start_gateway, sim, client, provider):
    sim.sim.stream_interval_s = 0.0
    try:
        accounts, keys = sim_accounts(sim)
        running = await start_gateway(accounts, keys)
        account_id = {"routing.run": "rr", "openrouter": "or", "routeway": "rw"}[provider]
        reply = await client.post(running.url(account_id, "/chat/completions"), headers=running.auth,
                                  json={"model": "m", "stream": True, "max_tokens": 6, "messages": []})
    finally:
        sim.sim.stream_interval_s = 0.2
    assert reply.status_code == 200
    events = [e for e in reply.content.split(b"\n\n") if e.startswith(b"data: {")]
    assert "".join(json.loads(e[6:])["choices"][0]["delta"].get("content", "") for e in events[:6]) == \
        "Lorem ipsum dolor sit amet consectetur "
    assert reply.content.endswith(b"data: [DONE]\n\n")
    assert sim.sim.count(provider, keys[account_id], "chat/completions") == 1


def test_address_forms():
    base = "https://api.example.com/v1"
    assert str(upstream_url(base, "chat/completions", "")) == "https://api.example.com/v1/chat/completions"
    # Anthropic SDKs append /v1/messages to their base URL: the /v1 is the account's own.
    assert str(upstream_url(base, "v1/messages", "beta=true")) == "https://api.example.com/v1/messages?beta=true"
    assert str(upstream_url(base + "/", "", "")) == base
    assert str(upstream_url("https://openrouter.ai/api/v1", "models", "")) == "https://openrouter.ai/api/v1/models"
    assert str(upstream_url("https://x.example/openai", "v1/models", "")) == "https://x.example/openai/v1/models"
    assert str(upstream_url(base, "files/a%2Fb", "q=%20")) == "https://api.example.com/v1/files/a%2Fb?q=%20"
