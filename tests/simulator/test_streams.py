"""Streams on every provider, and per-key stream scripts, over real sockets."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.desktop_session import wait_until
from tests.simulator.sse import data_events, parse
from traywidget.simulator.frames import openrouter_cost
from traywidget.simulator.scripts import StreamScript

FREE_OR = "meta-llama/llama-3.3-70b-instruct:free"
PROVIDERS = ["routing.run", "openrouter", "routeway", "openai-compatible"]


@pytest.fixture(params=PROVIDERS)
def account(request, sim, server):
    """(provider, key, base URL, auth headers) of a fresh account."""
    provider = request.param
    key = sim.add_account(provider)["api_key"]
    headers = {"X-API-Key": key} if provider == "routing.run" else {"Authorization": f"Bearer {key}"}
    return provider, key, server.url(provider), headers


def stream_body(**body):
    return {"stream": True, "messages": [{"role": "user", "content": "hi"}],
            "stream_options": {"include_usage": True}, **body}


def content_of(chunks):
    return "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c.get("choices"))


@pytest.mark.slow
def test_each_provider_streams_chunks_usage_and_done(client, account, sim):
    provider, key, base, headers = account
    response = client.post(f"{base}/chat/completions", headers=headers, json=stream_body(max_tokens=6))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse(response.content)
    assert events[-1].data == "[DONE]"
    chunks = [e.json for e in data_events(events)[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert content_of(chunks) == "Lorem ipsum dolor sit amet consectetur "
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    usage = {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18}
    if provider == "openrouter":  # OpenRouter's usage carries its cost (credits = USD)
        usage["cost"] = openrouter_cost(6)
    assert chunks[-1]["usage"] == usage
    assert sim.stream_stats(key) | {"last_ended_at": None} == {
        "finished": 1, "killed": 0, "cancelled": 0, "reset": 0, "error": 0, "active": 0, "last_ended_at": None}
    comments = [c for e in events for c in e.comments]
    if provider == "openrouter":
        assert comments == ["OPENROUTER PROCESSING"] * 2  # before chunks 0 and 5
        assert {c["id"] for c in chunks} == {response.headers["X-Generation-Id"]}
        assert response.headers["X-Generation-Id"].startswith("gen-")
        assert {c["provider"] for c in chunks} == {"OpenAI"}
    else:
        assert comments == [] and "X-Generation-Id" not in response.headers


def test_openai_compatible_sends_usage_only_when_asked(client, sim, server):
    key = sim.add_openai_compatible_key()
    response = client.post(f"{server.url('openai-compatible')}/chat/completions",
                           headers={"Authorization": f"Bearer {key}"}, json={"stream": True, "max_tokens": 2})
    chunks = [e.json for e in data_events(parse(response.content))[:-1]]
    assert len(chunks) == 3 and all("usage" not in c for c in chunks)


def test_openrouter_plain_completion_has_generation_id(client, sim, orb):
    key = sim.add_openrouter_key()
    response = client.post(f"{orb}/chat/completions", headers={"Authorization": f"Bearer {key}"},
                           json={"messages": []})
    assert response.status_code == 200
    assert response.json()["id"] == response.headers["X-Generation-Id"]
    assert response.json()["provider"] == "OpenAI"


def test_scripted_events_count_and_exact_size(client, account, sim):
    _, key, base, headers = account
    sim.script_streams(key, events=7, event_bytes=512, interval_s=0)
    response = client.post(f"{base}/chat/completions", headers=headers, json=stream_body(max_tokens=3))
    blocks = [block + b"\n\n" for block in response.content.split(b"\n\n")[:-1]]
    content = [b for b in blocks if b'"delta":{"content"' in b or b'"delta":{"role"' in b]
    assert len(content) == 7
    assert {len(b) for b in content} == {512}
    chunks = [e.json for e in data_events(parse(response.content))[:-1]]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["completion_tokens"] == 7


def test_flat_out_stream_of_2000_events(client, sim, rr):
    key = sim.add_routing_key()
    sim.script_streams(key, events=2000, interval_s=0)
    response = client.post(f"{rr}/chat/completions", headers={"X-API-Key": key}, json=stream_body())
    events = data_events(parse(response.content))
    assert len(events) == 2000 + 3  # content, finish, usage, [DONE]
    assert events[-2].json["usage"]["completion_tokens"] == 2000
    assert sim.stream_stats(key)["finished"] == 1


@pytest.mark.slow
def test_script_applies_to_the_next_count_streams_then_clears(client, sim, rr):
    key = sim.add_routing_key()
    sim.script_streams(key, count=2, events=1, interval_s=0)

    def content_events():
        response = client.post(f"{rr}/chat/completions", headers={"X-API-Key": key}, json=stream_body(max_tokens=4))
        return len(data_events(parse(response.content))) - 3

    assert [content_events() for _ in range(3)] == [1, 1, 4]
    sim.script_streams(key, events=2, interval_s=0)
    assert [content_events() for _ in range(2)] == [2, 2]  # until cleared
    sim.clear(key)
    assert content_events() == 4


def read_until_events(response, n):
    """Read raw bytes until n data events arrived; returns the bytes."""
    received = b""
    pieces = response.iter_raw()
    while received.count(b"data: ") < n:
        received += next(pieces)
    return received, pieces


@pytest.mark.slow
def test_hang_after_n_events_until_the_client_leaves(sim, account):
    _, key, base, headers = account
    sim.script_streams(key, hang_after=2)
    with httpx.Client(timeout=httpx.Timeout(5, read=1.0)) as client:
        with client.stream("POST", f"{base}/chat/completions", headers=headers, json=stream_body()) as response:
            received, pieces = read_until_events(response, 2)
            assert sim.stream_stats(key)["active"] == 1
            with pytest.raises(httpx.ReadTimeout):  # (and httpx drops the connection)
                next(pieces)
            assert received.count(b"data: ") == 2 and b"[DONE]" not in received
    wait_until(lambda: sim.stream_stats(key)["cancelled"] == 1, 5, 0.01, "the stream cancelled")
    assert sim.stream_stats(key)["active"] == 0


def test_routing_kill_ends_a_hanging_stream_with_done(client, sim, rr):
    key = sim.add_routing_key()
    sim.script_streams(key, hang_after=1)
    received: list[bytes] = []
    first = threading.Event()

    def consume():
        with httpx.Client(timeout=10) as own, own.stream(
                "POST", f"{rr}/chat/completions", headers={"X-API-Key": key}, json=stream_body()) as response:
            for piece in response.iter_raw():
                received.append(piece)
                first.set()

    reader = threading.Thread(target=consume)
    reader.start()
    assert first.wait(5)
    assert client.post(f"{rr}/user/streams/kill", headers={"X-API-Key": key}).json() == {"killed_streams": 1}
    reader.join(5)
    assert not reader.is_alive()
    events = parse(b"".join(received))
    assert [e.data for e in events][-1] == "[DONE]" and len(events) == 2
    assert sim.stream_stats(key)["killed"] == 1


def test_reset_after_n_events(client, account, sim):
    _, key, base, headers = account
    sim.script_streams(key, reset_after=3, interval_s=0)
    received = b""
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        with client.stream("POST", f"{base}/chat/completions", headers=headers, json=stream_body()) as response:
            for piece in response.iter_raw():
                received += piece
    assert received.count(b"data: ") == 3 and b"[DONE]" not in received
    wait_until(lambda: sim.stream_stats(key)["reset"] == 1, 5, 0.01, "the stream reset")


@pytest.mark.slow
def test_slow_drip_splits_events_across_reads(client, account, sim):
    _, key, base, headers = account
    sim.script_streams(key, events=3, drip_bytes=16, drip_interval_s=0.01, interval_s=0)
    pieces = []
    with client.stream("POST", f"{base}/chat/completions", headers=headers, json=stream_body()) as response:
        pieces = list(response.iter_raw())
    assert len(pieces) > 3 and any(not piece.endswith(b"\n\n") for piece in pieces)
    events = data_events(parse(b"".join(pieces)))
    assert len(events) == 3 + 3 and events[-1].data == "[DONE]"


@pytest.mark.parametrize("kind, message, code", [
    ("concurrent", "Concurrent stream limit exceeded", "RATE_LIMIT_ERROR"),
    ("hourly", "Hourly request limit exceeded", "RATE_LIMIT_ERROR"),
    ("daily", "Daily request limit exceeded", "DAILY_REQUEST_LIMIT_EXCEEDED"),
])
def test_routing_429_mid_stream(client, sim, rr, kind, message, code):
    key = sim.add_routing_key()
    sim.script_streams(key, error_after=2, error=kind, interval_s=0)
    response = client.post(f"{rr}/chat/completions", headers={"X-API-Key": key}, json=stream_body())
    assert response.status_code == 200
    events = data_events(parse(response.content))
    assert len(events) == 4 and events[-1].data == "[DONE]"
    assert events[2].json == {"error": {"message": message, "code": code, "status": 429}}
    assert sim.stream_stats(key)["error"] == 1


@pytest.mark.parametrize("kind, error", [
    ("minute", {"code": 429, "message": "Rate limit exceeded: free-models-per-minute",
                "metadata": {"error_type": "rate_limit_exceeded"}}),
    ("upstream", {"code": 429, "message": "Provider returned error",
                  "metadata": {"provider_name": "OpenAI", "provider_code": 429,
                               "raw": "Rate limit reached for requests"}}),
])
def test_openrouter_429_mid_stream_is_an_error_chunk(client, sim, orb, kind, error):
    key = sim.add_openrouter_key()
    sim.script_streams(key, error_after=1, error=kind, interval_s=0)
    response = client.post(f"{orb}/chat/completions", headers={"Authorization": f"Bearer {key}"},
                           json=stream_body(model=FREE_OR))
    assert response.status_code == 200
    events = data_events(parse(response.content))
    assert len(events) == 3 and events[-1].data == "[DONE]"
    chunk = events[1].json
    assert chunk["error"] == error
    assert chunk["choices"] == [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]
    assert chunk["object"] == "chat.completion.chunk" and chunk["id"] == response.headers["X-Generation-Id"]


@pytest.mark.parametrize("legacy", [False, True])
def test_routeway_429_mid_stream_in_both_forms(client, sim, rw, legacy):
    key = sim.add_routeway_key(minute_limit=5, legacy_errors=legacy)
    sim.script_streams(key, error_after=0, error="minute")
    response = client.post(f"{rw}/chat/completions", headers={"Authorization": f"Bearer {key}"},
                           json=stream_body(model="deepseek-r1:free"))
    events = data_events(parse(response.content))
    assert len(events) == 2 and events[-1].data == "[DONE]"
    error = events[0].json["error"]
    assert error["message"] == "API key per-minute rate limit exceeded (5 RPM)."
    if legacy:
        assert (error["type"], error["code"]) == ("error", 429)
    else:
        assert (error["type"], error["code"], error["status_code"]) == ("rate_limit_error", "rate_limit_exceeded", 429)


def test_openai_compatible_429_mid_stream_ends_without_done(client, sim, server):
    key = sim.add_openai_compatible_key(rpm=60)
    sim.script_streams(key, error_after=1, interval_s=0)
    response = client.post(f"{server.url('openai-compatible')}/chat/completions",
                           headers={"Authorization": f"Bearer {key}"}, json=stream_body())
    events = data_events(parse(response.content))
    assert len(events) == 2
    error = events[1].json["error"]
    assert (error["type"], error["code"], error["param"]) == ("requests", "rate_limit_exceeded", None)
    assert error["message"].startswith("Rate limit reached for requests per min (RPM): Limit 60")


def test_bad_scripts_are_refused(sim, client, server):
    key = sim.add_routing_key()
    for params in ({"events": -1}, {"interval_s": "fast"}, {"drip_bytes": 0}, {"meteor": 1},
                   {"error_after": 1, "error": "tokens"}, {"events": True}):
        with pytest.raises(ValueError):
            sim.script_streams(key, **params)
    with pytest.raises(ValueError):
        sim.script_streams(key, count=0, events=1)
    with pytest.raises(KeyError):
        sim.script_streams("sk-nobody", events=1)
    refused = client.post(f"http://127.0.0.1:{server.port}/_sim/stream/script", json={"key": key, "events": -1})
    assert refused.status_code == 400 and refused.json()["ok"] is False


def test_script_tie_breaks_and_defaults():
    assert StreamScript.make(hang_after=2, reset_after=2, error_after=2).action_at(2) == "reset"
    assert StreamScript.make(hang_after=2, error_after=2).action_at(2) == "error"
    assert StreamScript.make(hang_after=1, reset_after=3).action_at(1) == "hang"
    assert StreamScript().action_at(0) is None


def test_concurrent_stream_limit_settable_and_answered_in_both_forms(client, sim, rr, server):
    key = sim.add_routing_key("Free")
    other_key_of_user = sim.add_routing_key(same_user_as=key)
    sim.configure(key, stream_limit=2)
    for _ in range(2):
        assert server.start_stream(key) is None
    refused = client.post(f"{rr}/chat/completions", headers={"X-API-Key": other_key_of_user}, json=stream_body())
    assert refused.status_code == 429 and refused.text == "Concurrent stream limit exceeded"
    assert refused.headers["X-Error-Code"] == "RATE_LIMIT_ERROR"
    sim.configure(key, stream_denial="sse")
    in_stream = client.post(f"{rr}/chat/completions", headers={"X-API-Key": key}, json=stream_body())
    assert in_stream.status_code == 200
    assert [e.data for e in parse(in_stream.content)] == [
        '{"error":{"message":"Concurrent stream limit exceeded","code":"RATE_LIMIT_ERROR","status":429}}', "[DONE]"]
    plain = client.post(f"{rr}/chat/completions", headers={"X-API-Key": key}, json={"messages": []})
    assert plain.status_code == 200  # the limit is on streams only
    with pytest.raises(ValueError):
        sim.configure(key, stream_denial="sometimes")
    assert client.post(f"{rr}/user/streams/kill", headers={"X-API-Key": key}).json() == {"killed_streams": 2}


def test_streams_count_against_the_windows(client, sim, rr, server):
    key = sim.add_routing_key("Premium")
    sim.script_streams(key, count=1, reset_after=1, interval_s=0)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.post(f"{rr}/chat/completions", headers={"X-API-Key": key}, json=stream_body())
    sim.script_streams(key, count=1, error_after=0)
    client.post(f"{rr}/chat/completions", headers={"X-API-Key": key}, json=stream_body())
    client.post(f"{rr}/chat/completions", headers={"X-API-Key": key}, json=stream_body(max_tokens=2))
    usage = client.get(f"{rr}/user/requests", headers={"X-API-Key": key}).json()
    assert (usage["requests_used_today"], usage["requests_used_this_hour"], usage["requests_used_this_minute"]) == (3,
                                                                                                                    3,
                                                                                                                    3)
    oa = sim.add_openai_compatible_key(rpm=10, tpm=1000)
    sim.script_streams(oa, events=100, interval_s=0)
    client.post(f"{server.url('openai-compatible')}/chat/completions", headers={"Authorization": f"Bearer {oa}"},
                json=stream_body())
    windows = sim.openai_windows(oa)
    assert (windows["requests"][1], windows["tokens"][1]) == (9, 1000 - 112)


def test_stream_stats_per_key_over_http(client, sim, rr, server):
    key = sim.add_routing_key()
    before = time.time()
    client.post(f"{rr}/chat/completions", headers={"X-API-Key": key}, json=stream_body(max_tokens=1))
    after = time.time()
    stats = client.get(f"http://127.0.0.1:{server.port}/_sim/streams", params={"key": key}).json()["streams"]
    assert {k: v for k, v in stats.items() if k != "last_ended_at"} == {
        "finished": 1, "killed": 0, "cancelled": 0, "reset": 0, "error": 0, "active": 0}
    assert before <= stats["last_ended_at"] <= after


@pytest.mark.slow
def test_five_hundred_streams_at_once(sim, server):
    """The gateway's tests hold 500 connections: the simulator keeps them all open at once."""
    import asyncio

    key = sim.add_openai_compatible_key(rpm=10_000, tpm=10**9)
    sim.script_streams(key, hang_after=1)
    url = f"{server.url('openai-compatible')}/chat/completions"

    async def hold_all() -> tuple[int, list[bytes]]:
        opened, all_open, release = 0, asyncio.Event(), asyncio.Event()
        limits = httpx.Limits(max_connections=600, max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            async def one() -> bytes:
                nonlocal opened
                async with client.stream("POST", url, headers={"Authorization": f"Bearer {key}"},
                                         json={"stream": True}) as response:
                    # Hold the iterator: an abandoned one is finalized and closes its connection.
                    pieces = response.aiter_raw()
                    first = await pieces.__anext__()
                    opened += 1
                    if opened == 500:
                        all_open.set()
                    await release.wait()
                    return first

            tasks = [asyncio.create_task(one()) for _ in range(500)]
            await asyncio.wait_for(all_open.wait(), 60)
            active = sim.stream_stats(key)["active"]
            release.set()
            return active, await asyncio.gather(*tasks)

    active, firsts = asyncio.run(hold_all())
    assert active == 500
    assert all(first.startswith(b"data: ") for first in firsts)
    wait_until(lambda: sim.stream_stats(key)["cancelled"] == 500, 20, 0.05, "500 streams cancelled")
    assert sim.stream_stats(key)["active"] == 0
