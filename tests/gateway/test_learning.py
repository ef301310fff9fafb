"""What the gateway learns from a copy of the traffic, live: meters from
rate-limit headers, refusals (as a status or an SSE error event) in the
provider's words, and the streams open per account — handed to plain sinks."""

from __future__ import annotations

import asyncio
import gzip
import json

import pytest

from tests.gateway.conftest import sim_accounts, upstream_account
from traywidget.model import (
    REQUESTS_DAY,
    REQUESTS_MINUTE,
    REQUESTS_WINDOW,
    TOKENS_WINDOW,
    ErrorInfo,
    Source,
    State,
    Unit,
)

CHAT = "/chat/completions"


async def test_routeway_headers_on_the_users_request_become_meters(start_gateway, sim, client):
    accounts, keys = sim_accounts(sim)
    running = await start_gateway(accounts, keys)
    sim.sim.spend(keys["rw"], 2, "m:free")
    reply = await client.post(running.url("rw", CHAT), headers=running.auth, json={"model": "m:free", "messages": []})
    assert reply.status_code == 200
    await client.post(running.url("rw", CHAT), headers=running.auth, json={"model": "m:free", "messages": []})
    obs, second = running.observations  # every answer with windows is told: the numbers move
    assert {m.name: m.remaining for m in second.meters} == {REQUESTS_MINUTE: 1, REQUESTS_DAY: 196}
    assert (obs.account_id, obs.state, obs.error) == ("rw", None, None)
    meters = {m.name: m for m in obs.meters}
    assert {name: (m.limit, m.remaining) for name, m in meters.items()} == {
        REQUESTS_MINUTE: (5, 2), REQUESTS_DAY: (200, 197)}
    assert all(m.source is Source.TRAFFIC and m.seen_at == obs.seen_at for m in obs.meters)


async def test_a_429_status_is_the_providers_own_refusal_with_its_kind(start_gateway, sim, client):
    accounts, keys = sim_accounts(sim)
    running = await start_gateway(accounts, keys)
    sim.sim.set_counters(keys["rr"], hour=500)
    reply = await client.post(running.url("rr", CHAT), headers=running.auth, json={"model": "m", "messages": []})
    assert (reply.status_code, reply.text) == (429, "Hourly request limit exceeded")
    (obs,) = running.observations
    assert (obs.state, obs.meters) == (State.RATE_LIMITED, ())
    assert obs.error == ErrorInfo(message="Hourly request limit exceeded", http_status=429,
                                  code="RATE_LIMIT_ERROR", limit_kind="hourly")


async def test_routing_run_concurrent_stream_limit(start_gateway, sim, client):
    accounts, keys = sim_accounts(sim)
    running = await start_gateway(accounts, keys)
    for _ in range(50):  # the Premium plan's 50 concurrent streams, held by the provider
        assert sim.start_stream(keys["rr"]) is None
    reply = await client.post(running.url("rr", CHAT), headers=running.auth,
                              json={"model": "m", "stream": True, "messages": []})
    assert (reply.status_code, reply.text) == (429, "Concurrent stream limit exceeded")
    assert [(o.state, o.error.limit_kind) for o in running.observations] == [
        (State.RATE_LIMITED, "concurrent_streams")]


async def test_openrouter_402_and_401(start_gateway, sim, client):
    accounts, keys = sim_accounts(sim)
    sim.sim.configure(keys["or"], total_credits=1.0, total_usage=2.0)
    running = await start_gateway(accounts, {**keys, "rw": "sk-not-a-routeway-key"})
    paid = await client.post(running.url("or", CHAT), headers=running.auth, json={"model": "m", "messages": []})
    wrong = await client.post(running.url("rw", CHAT), headers=running.auth, json={"model": "m", "messages": []})
    assert (paid.status_code, wrong.status_code) == (402, 401)
    assert [(o.account_id, o.state, o.error.message) for o in running.observations] == [
        ("or", State.PAYMENT_REQUIRED, "Insufficient credits. Add more using https://openrouter.ai/credits"),
        ("rw", State.AUTH_ERROR, "Invalid API key")]


@pytest.mark.parametrize(("account_id", "limit", "kind"), [
    ("rr", "concurrent", "concurrent_streams"), ("rr", "hourly", "hourly"), ("or", "minute", "minute"),
    ("or", "upstream", None), ("rw", "day", "daily"), ("oc", "requests", "minute"), ("oc", "tokens", "minute"),
])
async def test_a_429_inside_a_200_stream_of_every_provider(on_sim, sim, client, account_id, limit, kind):
    sim.sim.script_streams(on_sim.keys[account_id], count=1, events=10, error_after=2, error=limit, interval_s=0)
    reply = await client.post(on_sim.url(account_id, CHAT), headers=on_sim.auth,
                              json={"model": "m", "stream": True, "max_tokens": 10, "messages": []})
    assert reply.status_code == 200
    (event,) = [e for e in reply.content.split(b"\n\n") if b'"error"' in e]
    said = json.loads(event.removeprefix(b"data: "))["error"]
    refusal = on_sim.observations[-1]
    assert (refusal.account_id, refusal.state) == (account_id, State.RATE_LIMITED)
    assert (refusal.error.message, refusal.error.http_status, refusal.error.limit_kind) == (said["message"], 429, kind)


async def test_openai_style_rate_limit_headers_become_request_and_token_meters(on_sim, sim, client):
    reply = await client.post(on_sim.url("oc", CHAT), headers=on_sim.auth, json={"model": "m", "messages": []})
    assert reply.status_code == 200
    (obs,) = on_sim.observations
    meters = {m.name: m for m in obs.meters}
    assert set(meters) == {REQUESTS_WINDOW, TOKENS_WINDOW}
    assert (meters[REQUESTS_WINDOW].limit, meters[REQUESTS_WINDOW].remaining) == (60, 59)
    assert meters[TOKENS_WINDOW].limit == 150_000 and meters[TOKENS_WINDOW].remaining < 150_000
    assert meters[TOKENS_WINDOW].unit is Unit.TOKENS


async def test_anthropic_style_rate_limit_headers_on_messages(on_sim, sim, client):
    reply = await client.post(on_sim.url("oc", "/v1/messages"),
                              json={"model": "claude", "max_tokens": 3, "messages": []},
                              headers={"x-api-key": on_sim.token, "anthropic-version": "2023-06-01"})
    assert reply.status_code == 200
    (obs,) = on_sim.observations
    assert {m.name: (m.limit, m.unit) for m in obs.meters} == {
        REQUESTS_WINDOW: (60, Unit.REQUESTS), TOKENS_WINDOW: (150_000, Unit.TOKENS)}


async def test_a_good_answer_is_reported_so_a_rate_limit_can_clear(start_gateway, sim, client):
    accounts, keys = sim_accounts(sim)
    running = await start_gateway(accounts, keys)
    reply = await client.post(running.url("or", CHAT), headers=running.auth, json={"model": "m", "messages": []})
    assert reply.status_code == 200
    assert [(o.account_id, o.state, o.meters) for o in running.observations] == [("or", None, ())]


async def test_good_answers_that_say_nothing_new_are_told_once(start_gateway, sim, client):
    accounts, keys = sim_accounts(sim)
    running = await start_gateway(accounts, keys)
    for _ in range(3):
        await client.post(running.url("or", CHAT), headers=running.auth, json={"model": "m", "messages": []})
    sim.sim.configure(keys["or"], total_credits=0.0, total_usage=1.0)
    await client.post(running.url("or", CHAT), headers=running.auth, json={"model": "m", "messages": []})
    sim.sim.configure(keys["or"], total_credits=5.0)
    for _ in range(2):
        await client.post(running.url("or", CHAT), headers=running.auth, json={"model": "m", "messages": []})
    # good, refused, good again: a good answer after a refusal is what clears it
    assert [o.state for o in running.observations] == [None, State.PAYMENT_REQUIRED, None]


async def test_server_errors_and_bad_requests_teach_nothing(start_gateway, upstream, client):
    running = await start_gateway([upstream_account(upstream)], {"up": "sk-up"})
    for status in (400, 404, 500, 502):
        await client.get(running.url("up", f"/status/{status}"), headers=running.auth)
    assert running.observations == []


async def test_stream_counts_per_account_go_up_and_back_to_zero(start_gateway, upstream, client):
    accounts = [upstream_account(upstream, "a"), upstream_account(upstream, "b")]
    running = await start_gateway(accounts, {"a": "k1", "b": "k2"})
    opened = [client.stream("POST", running.url("a", "/gated"), headers=running.auth) for _ in range(2)]
    replies = [await stream.__aenter__() for stream in opened]
    assert running.gateway.stream_counts() == {"a": 2, "b": 0}
    upstream.release()
    for stream, reply in zip(opened, replies, strict=True):
        await reply.aread()
        await stream.__aexit__(None, None, None)
    await client.get(running.url("b", "/echo"), headers=running.auth)
    assert running.counts == [("a", 1), ("a", 2), ("a", 1), ("a", 0), ("b", 1), ("b", 0)]
    assert running.gateway.stream_counts() == {"a": 0, "b": 0}


async def test_a_failing_sink_never_breaks_the_traffic(start_gateway, upstream, client):
    running = await start_gateway([upstream_account(upstream)], {"up": "sk-up"})

    def broken(*_):
        raise RuntimeError("engine bug")

    running.gateway._observe = broken
    running.gateway._registry._on_count = broken
    reply = await client.get(running.url("up", "/sse?n=3"), headers=running.auth)
    assert reply.status_code == 200 and reply.content.endswith(b"data: [DONE]\n\n")
    await asyncio.sleep(0)
    assert running.gateway.stream_counts() == {"up": 0}


async def test_a_compressed_refusal_is_passed_on_decoded_and_read(start_gateway, sim, client):
    accounts, keys = sim_accounts(sim)
    running = await start_gateway(accounts, keys)
    sim.sim.set_counters(keys["rr"], hour=500)
    request = client.build_request("POST", running.url("rr", CHAT), headers={**running.auth,
                                   "Accept-Encoding": "gzip"}, json={"model": "m", "messages": []})
    reply = await client.send(request, stream=True)
    raw = b"".join([chunk async for chunk in reply.aiter_raw()])
    await reply.aclose()
    # Decoded, so that a key it might echo could be masked (identity is always acceptable to a client).
    assert "content-encoding" not in reply.headers
    assert raw == b"Hourly request limit exceeded"
    assert [(o.state, o.error.message) for o in running.observations] == [
        (State.RATE_LIMITED, "Hourly request limit exceeded")]


async def test_an_error_event_inside_a_compressed_stream(start_gateway, upstream, client):
    running = await start_gateway([upstream_account(upstream, "or", "openrouter")], {"or": "sk-or-v1-x"})
    direct = await client.get(upstream.base("or") + "/gzip-sse")
    through = await client.get(running.url("or", "/gzip-sse"), headers=running.auth)
    assert through.content == direct.content  # decoded by the client the same way, both ends agreeing
    assert b"upstream provider busy" in through.content
    assert [(o.state, o.error.message if o.error else None) for o in running.observations] == [
        (None, None), (State.RATE_LIMITED, "Rate limit exceeded: upstream provider busy")]


async def test_a_refusal_in_a_coding_the_gateway_cannot_undo_is_replaced_and_read_by_its_status(
        start_gateway, upstream, client):
    running = await start_gateway([upstream_account(upstream)], {"up": "sk-echoed-in-brotli-0123456789"})
    reply = await client.get(running.url("up", "/brotli-429"), headers={**running.auth, "Accept-Encoding": "br"})
    assert _received(upstream, "Accept-Encoding") == ["identity"]  # br was not asked for
    # Its body could echo the key (it does): not passed on; the status and what a tool acts on are.
    assert reply.status_code == 429 and "content-encoding" not in reply.headers
    assert (reply.headers["retry-after"], reply.headers["x-ratelimit-remaining-requests"]) == ("7", "0")
    assert reply.json()["error"] == {
        "message": "The provider refused the request (HTTP 429) in a compression traywidget did not ask for and "
                   "cannot read (br), so its message is not passed on: it could hold your key.",
        "type": "unreadable_provider_error", "param": None, "code": "unreadable_provider_error"}  # its dialect
    assert "sk-echoed-in-brotli" not in reply.text
    assert [(o.state, o.error.message) for o in running.observations] == [
        (State.RATE_LIMITED, "HTTP 429 Too Many Requests from provider")]


@pytest.mark.parametrize(("sent", "asked"), [
    (None, "identity"),
    ("gzip, deflate, br, zstd", "gzip, deflate"),
    ("br;q=1.0, GZIP;q=0.5, *;q=0.1", "GZIP;q=0.5"),
    ("br", "identity"),
    ("identity", "identity"),
])
async def test_the_provider_is_asked_only_for_codings_the_gateway_can_read(start_gateway, upstream, client,
                                                                             sent, asked):
    running = await start_gateway([upstream_account(upstream)], {"up": "k"})
    headers = {**running.auth, **({"Accept-Encoding": sent} if sent is not None else {})}
    request = client.build_request("GET", running.url("up", "/echo"), headers=headers)
    if sent is None:
        del request.headers["Accept-Encoding"]  # httpx would send its own
    assert (await client.send(request)).status_code == 200
    assert _received(upstream, "Accept-Encoding") == [asked]


def _received(upstream, name: str) -> list[str]:
    """The values of header `name` in the last request the stand-in received."""
    return [value for key, value in upstream.requests[-1]["headers"] if key.lower() == name.lower()]


def test_the_copy_decoder():
    import zlib

    from traywidget.gateway.learning import CopyDecoder

    assert CopyDecoder.for_encoding(None) is None and CopyDecoder.for_encoding(" Identity ") is None
    with pytest.raises(LookupError):
        CopyDecoder.for_encoding("br")
    two_members = gzip.compress(b"first ") + gzip.compress(b"second")
    decoder = CopyDecoder.for_encoding("gzip")
    assert b"".join(decoder.decode(two_members[:7], 100) + decoder.decode(two_members[7:], 100)) == b"first second"
    bomb = gzip.compress(bytes(1_000_000))
    pieces = CopyDecoder.for_encoding("x-gzip").decode(bomb, 65_536)
    assert max(map(len, pieces)) == 65_536 and sum(map(len, pieces)) == 1_000_000
    assert CopyDecoder.for_encoding("deflate").decode(zlib.compress(b"abc"), 10) == [b"abc"]
    broken = CopyDecoder.for_encoding("gzip")
    assert broken.decode(b"not gzip at all", 10) == [] and broken.failed
    assert broken.decode(gzip.compress(b"late"), 10) == []
