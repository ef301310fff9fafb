"""Faithful pass-through over real sockets, against the simulator's pass-through
endpoints (_echo, _bytes, _sse, _upload): bodies byte for byte both ways
(plain, streamed, binary, multi-megabyte, multipart, compressed), every method
and path, status codes and headers, the real key in each provider's own form,
SSE events as they arrive."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json

import httpx
import pytest

from tests.gateway.conftest import upstream_account
from tests.gateway.upstream import sse_event
from traywidget.gateway.proxy import upstream_url
from traywidget.simulator.passthrough import fingerprint, payload, sse_body


async def _direct_and_through(client, sim, on_sim, path: str, **kwargs) -> tuple[httpx.Response, httpx.Response]:
    """The same request to the simulator's routing.run base URL, straight and through the gateway."""
    headers = kwargs.pop("headers", {})
    method = kwargs.pop("method", "GET")
    direct = await client.request(method, sim.url("routing.run") + path, headers=headers, **kwargs)
    through = await client.request(method, on_sim.url("rr", path), headers={**headers, **on_sim.auth}, **kwargs)
    return direct, through


@pytest.mark.parametrize("size", [0, 1, 65_537, 5 * 2**20 + 3])
async def test_binary_bodies_byte_for_byte(on_sim, sim, client, size):
    direct, through = await _direct_and_through(client, sim, on_sim, f"/_bytes?size={size}&seed={size}",
                                                headers={"Accept-Encoding": "identity"})
    assert through.status_code == direct.status_code == 200
    assert through.content == direct.content == payload(size, size)
    assert through.headers["content-length"] == str(size)


async def test_a_chunked_body_stays_chunked_and_whole(on_sim, sim, client):
    direct, through = await _direct_and_through(client, sim, on_sim, "/_bytes?size=300000&seed=2&chunked=1",
                                                headers={"Accept-Encoding": "identity"})
    assert through.content == direct.content == payload(300_000, 2)
    assert "content-length" not in through.headers and through.headers["transfer-encoding"] == "chunked"


async def test_request_bodies_go_up_byte_for_byte_streamed(on_sim, client):
    body = payload(3 * 2**20 + 11, 5)

    async def chunks():
        for i in range(0, len(body), 100_000):
            yield body[i:i + 100_000]

    sized = await client.post(on_sim.url("rr", "/_echo"), content=body, headers=on_sim.auth)
    chunked = await client.post(on_sim.url("rr", "/_echo"), content=chunks(), headers=on_sim.auth)
    for reply in (sized, chunked):
        echoed = reply.json()
        assert (echoed["body_length"], echoed["body_sha256"]) == (len(body), hashlib.sha256(body).hexdigest())
    sized_headers = {name.lower(): value for name, value in sized.json()["headers"]}
    assert sized_headers["content-length"] == str(len(body)) and "transfer-encoding" not in sized_headers
    chunked_headers = {name.lower(): value for name, value in chunked.json()["headers"]}
    assert chunked_headers["transfer-encoding"] == "chunked" and "content-length" not in chunked_headers


async def test_a_multipart_upload_arrives_whole(on_sim, client):
    audio, notes = payload(2 * 2**20, 9), b"transcribe me\n"
    reply = await client.post(on_sim.url("oc", "/_upload"), headers=on_sim.auth,
                              files={"file": ("talk.wav", audio, "audio/wav"), "notes": ("n.txt", notes, "text/plain")},
                              data={"model": "whisper-1"})
    parts = {part["name"]: part for part in reply.json()["parts"]}
    assert (parts["file"]["filename"], parts["file"]["length"], parts["file"]["sha256"]) == (
        "talk.wav", len(audio), hashlib.sha256(audio).hexdigest())
    assert parts["notes"]["sha256"] == hashlib.sha256(notes).hexdigest()
    assert parts["model"]["length"] == len("whisper-1")


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_every_method_and_the_raw_path_and_query_pass(on_sim, client, method):
    reply = await client.request(method, on_sim.url("rr", "/_echo/files/a%2Fb%20c?x=1&y=%C3%A9&x=2"),
                                 headers=on_sim.auth)
    assert reply.status_code == 200
    echoed = reply.json()
    assert (echoed["method"], echoed["raw_path"]) == (method, "/routing.run/v1/_echo/files/a%2Fb%20c?x=1&y=%C3%A9&x=2")


async def test_headers_pass_except_hop_by_hop_and_the_token(on_sim, sim, client):
    headers = {**on_sim.auth, "X-Custom": "kept", "anthropic-version": "2023-06-01", "Accept-Encoding": "identity",
               "Connection": "keep-alive, X-Drop-Me", "X-Drop-Me": "hop", "Keep-Alive": "timeout=5",
               "User-Agent": "tool/1.0", "Cookie": "a=b"}
    reply = await client.post(on_sim.url("or", "/_echo"), json={"a": 1}, headers=headers)
    received: dict[str, list[str]] = {}
    for name, value in reply.json()["headers"]:
        received.setdefault(name.lower(), []).append(value)
    assert received["authorization"] == [f"Bearer {fingerprint(on_sim.keys['or'])}"]
    assert received["x-custom"] == ["kept"] and received["anthropic-version"] == ["2023-06-01"]
    assert received["accept-encoding"] == ["identity"] and received["user-agent"] == ["tool/1.0"]
    assert received["cookie"] == [fingerprint("a=b")] and received["content-type"] == ["application/json"]
    assert received["host"] == [f"127.0.0.1:{sim.port}"]
    for gone in ("x-drop-me", "keep-alive", "x-api-key", "origin", "referer"):
        assert gone not in received
    assert fingerprint(on_sim.token) not in json.dumps(reply.json())


async def test_the_real_key_goes_in_each_providers_own_form(on_sim, client):
    sent = {}
    for account_id, token_header in (("rr", "Authorization"), ("or", "X-API-Key"), ("rw", "x-api-key"),
                                     ("oc", "x-api-key"), ("oc", "Authorization")):
        value = f"Bearer {on_sim.token}" if token_header == "Authorization" else on_sim.token
        reply = await client.get(on_sim.url(account_id, "/_echo"), headers={token_header: value})
        sent[(account_id, token_header)] = [(c["header"].lower(), c["scheme"], c["sha256"], c["provider"])
                                            for c in reply.json()["credentials"]]
    keys = {account_id: fingerprint(key)[len("sha256:"):] for account_id, key in on_sim.keys.items()}
    assert sent == {
        ("rr", "Authorization"): [("x-api-key", None, keys["rr"], "routing.run")],
        ("or", "X-API-Key"): [("authorization", "Bearer", keys["or"], "openrouter")],
        ("rw", "x-api-key"): [("authorization", "Bearer", keys["rw"], "routeway")],
        # Anthropic-style tools present the token as x-api-key, and get the key sent the same way.
        ("oc", "x-api-key"): [("x-api-key", None, keys["oc"], "openai-compatible")],
        ("oc", "Authorization"): [("authorization", "Bearer", keys["oc"], "openai-compatible")],
    }


async def test_compression_is_left_to_the_two_ends(on_sim, sim, client):
    async def raw(url: str, headers: dict) -> tuple[httpx.Headers, bytes]:
        reply = await client.send(client.build_request("GET", url, headers={**headers, "Accept-Encoding": "gzip"}),
                                  stream=True)
        body = b"".join([chunk async for chunk in reply.aiter_raw()])
        await reply.aclose()
        return reply.headers, body

    direct_headers, direct = await raw(sim.url("routing.run") + "/_bytes?size=200000&seed=4", {})
    headers, through = await raw(on_sim.url("rr", "/_bytes?size=200000&seed=4"), on_sim.auth)
    assert headers["content-encoding"] == direct_headers["content-encoding"] == "gzip"
    assert through == direct and gzip.decompress(through) == payload(200_000, 4)


@pytest.mark.parametrize("status", [201, 400, 404, 418, 500, 503])
async def test_status_codes_and_response_headers_pass_through(on_sim, sim, client, status):
    path = f"/_echo?status={status}&header=X-Request-Id:abc&header=Retry-After:7"
    direct, through = await _direct_and_through(client, sim, on_sim, path)
    assert through.status_code == direct.status_code == status
    assert (through.headers["x-request-id"], through.headers["retry-after"]) == ("abc", "7")


async def test_head_has_headers_and_no_body(start_gateway, upstream, client):
    running = await start_gateway([upstream_account(upstream)], {"up": "sk-up"})
    reply = await client.head(running.url("up", "/bytes?n=1234"), headers=running.auth)
    assert (reply.status_code, reply.content, reply.headers["content-length"]) == (200, b"", "1234")


async def test_sse_streams_are_byte_exact(on_sim, sim, client):
    path = "/_sse?events=300&event_bytes=180&seed=3"
    direct, through = await _direct_and_through(client, sim, on_sim, path, method="POST")
    assert through.content == direct.content == sse_body(300, 180, 3)
    assert through.headers["content-type"].startswith("text/event-stream")


async def test_sse_events_reach_the_client_as_they_arrive(start_gateway, upstream, client):
    running = await start_gateway([upstream_account(upstream)], {"up": "sk-up"})
    async with client.stream("POST", running.url("up", "/gated"), headers=running.auth) as reply:
        chunks = reply.aiter_raw()
        # The first event arrives while the upstream still holds the second back.
        assert await asyncio.wait_for(chunks.__anext__(), 5) == sse_event(0)
        assert not upstream.gate.is_set()
        upstream.release()
        assert b"".join([chunk async for chunk in chunks]) == sse_event(1)


async def test_the_upstream_connection_is_kept_alive(start_gateway, upstream, client):
    running = await start_gateway([upstream_account(upstream)], {"up": "sk-up"})
    for path in ("/echo", "/bytes?n=70000", "/sse?n=3", "/status/404", "/echo"):
        await client.get(running.url("up", path), headers=running.auth)
    assert len(upstream.peers) == 1


@pytest.mark.parametrize(("account_id", "provider", "path"), [
    ("rr", "routing.run", "/chat/completions"), ("or", "openrouter", "/chat/completions"),
    ("rw", "routeway", "/chat/completions"), ("oc", "openai-compatible", "/chat/completions"),
    ("oc", "openai-compatible", "/completions"),
])
async def test_simulator_streams_of_every_provider_pass(on_sim, sim, client, account_id, provider, path):
    sim.sim.script_streams(on_sim.keys[account_id], count=1, events=6, interval_s=0)
    reply = await client.post(on_sim.url(account_id, path), headers=on_sim.auth,
                              json={"model": "m", "stream": True, "max_tokens": 6, "messages": [], "prompt": "x"})
    assert reply.status_code == 200
    events = [e for e in reply.content.split(b"\n\n") if e.startswith(b"data: {")]
    assert len(events) >= 6 and reply.content.endswith(b"data: [DONE]\n\n")
    assert sim.sim.count(provider, on_sim.keys[account_id], path.lstrip("/")) == 1


async def test_an_anthropic_style_messages_stream_passes_by_the_sdk_address(on_sim, sim, client):
    """Anthropic SDKs append /v1/messages to the base URL: the address is the account's, /v1 read once."""
    sim.sim.script_streams(on_sim.keys["oc"], count=1, events=3, interval_s=0)
    reply = await client.post(on_sim.url("oc", "/v1/messages"), headers={"x-api-key": on_sim.token,
                                                                          "anthropic-version": "2023-06-01"},
                              json={"model": "claude", "stream": True, "max_tokens": 3, "messages": []})
    assert reply.status_code == 200
    assert b"event: message_start" in reply.content and b"event: message_stop" in reply.content
    assert sim.sim.count("openai-compatible", on_sim.keys["oc"], "messages") == 1


def test_address_forms():
    base = "https://api.example.com/v1"
    assert str(upstream_url(base, "chat/completions", "")) == "https://api.example.com/v1/chat/completions"
    # Anthropic SDKs append /v1/messages to their base URL: the /v1 is the account's own.
    assert str(upstream_url(base, "v1/messages", "beta=true")) == "https://api.example.com/v1/messages?beta=true"
    assert str(upstream_url(base + "/", "", "")) == base
    assert str(upstream_url("https://openrouter.ai/api/v1", "models", "")) == "https://openrouter.ai/api/v1/models"
    assert str(upstream_url("https://x.example/openai", "v1/models", "")) == "https://x.example/openai/v1/models"
    assert str(upstream_url(base, "files/a%2Fb", "q=%20")) == "https://api.example.com/v1/files/a%2Fb?q=%20"
