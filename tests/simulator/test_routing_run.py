"""routing.run as documented: usage fields, plans, shared counters, windows, errors, kill."""

from __future__ import annotations

import threading
import time

import pytest

from tests.simulator.sse import parse
from traywidget.simulator.records import PLANS

USAGE_FIELDS = {
    "requests_used_today", "requests_limit_today", "requests_remaining", "requests_used_this_hour",
    "requests_limit_this_hour", "requests_remaining_this_hour", "requests_used_this_minute",
    "requests_limit_per_minute", "requests_remaining_this_minute", "plan_tier",
}


def usage(client, rr, key, path="user/requests", **headers):
    return client.get(f"{rr}/{path}", headers={"X-API-Key": key, **headers})


@pytest.mark.parametrize("plan", list(PLANS))
def test_plans_and_fields(client, rr, sim, plan):
    key = sim.add_routing_key(plan)
    body = usage(client, rr, key).json()
    p = PLANS[plan]
    assert set(body) == USAGE_FIELDS
    assert body["plan_tier"] == plan
    assert body["requests_limit_today"] == p.per_day
    assert body["requests_limit_this_hour"] == (p.per_hour or 0)
    assert body["requests_limit_per_minute"] == 100
    hourly = usage(client, rr, key, "user/requests/hourly").json()
    assert hourly == {"limit": p.per_hour or 0, "used": 0, "remaining": p.per_hour or 0, "plan_tier": plan}


def test_lite_hourly_is_zero_zero(client, rr, sim):
    key = sim.add_routing_key("Lite")
    sim.spend(key, 7)
    body = usage(client, rr, key).json()
    assert (body["requests_limit_this_hour"], body["requests_remaining_this_hour"]) == (0, 0)
    assert body["requests_used_today"] == 7
    hourly = usage(client, rr, key, "user/requests/hourly").json()
    assert (hourly["limit"], hourly["remaining"]) == (0, 0)


def test_counters_move_and_are_shared_by_keys_of_one_user(client, rr, sim):
    first = sim.add_routing_key("Premium")
    second = sim.add_routing_key(same_user_as=first)
    other = sim.add_routing_key("Premium")
    assert sim.spend(first, 5) == 5
    for key in (first, second):
        body = usage(client, rr, key).json()
        assert body["requests_used_today"] == 5
        assert body["requests_remaining_this_hour"] == 495
        assert body["requests_remaining_this_minute"] == 95
    assert usage(client, rr, other).json()["requests_used_today"] == 0


def test_usage_endpoints_do_not_spend(client, rr, sim):
    key = sim.add_routing_key()
    for _ in range(3):
        usage(client, rr, key)
    assert usage(client, rr, key).json()["requests_used_today"] == 0


def test_windows_reset_hour_day_and_rolling_minute(client, rr, sim, clock):
    key = sim.add_routing_key("Premium")
    clock.set(clock.now.replace(hour=22, minute=59, second=30))
    sim.spend(key, 4)
    clock.advance(40)  # 23:00:10: new hour, still within the rolling minute
    body = usage(client, rr, key).json()
    assert (body["requests_used_this_hour"], body["requests_used_today"], body["requests_used_this_minute"]) == (0, 4,
                                                                                                                 4)
    clock.advance(30)
    assert usage(client, rr, key).json()["requests_used_this_minute"] == 0
    clock.advance(3600)  # past UTC midnight
    assert usage(client, rr, key).json()["requests_used_today"] == 0


def test_auth_forms(client, rr, sim):
    key = sim.add_routing_key()
    assert client.get(f"{rr}/user/requests", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    missing = client.get(f"{rr}/user/requests")
    assert missing.status_code == 401 and missing.json() == {"message": "Authentication required"}
    bad = usage(client, rr, "rk_" + "0" * 64)
    assert bad.status_code == 401
    assert bad.text == "Invalid API key"
    assert bad.headers["X-Error-Code"] == "AUTHENTICATION_ERROR"
    assert bad.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("header", ["Origin", "Referer"])
@pytest.mark.parametrize("path", ["user/requests", "user/requests/hourly"])
def test_origin_or_referer_refused(client, rr, sim, header, path):
    key = sim.add_routing_key()
    response = usage(client, rr, key, path, **{header: "https://example.com"})
    assert response.status_code == 403 and response.json() == {"message": "Access denied"}
    record = sim.requests(key=key)[-1]
    assert record.has_origin == (header == "Origin") and record.has_referer == (header == "Referer")


def chat(client, rr, key, **body):
    return client.post(f"{rr}/chat/completions", headers={"X-API-Key": key},
                       json={"model": "gpt-4o-mini", "messages": [], **body})


@pytest.mark.parametrize("counters, code, text", [
    ({"day": 1500}, "DAILY_REQUEST_LIMIT_EXCEEDED", "Daily request limit exceeded"),
    ({"hour": 500}, "RATE_LIMIT_ERROR", "Hourly request limit exceeded"),
])
def test_limit_429s(client, rr, sim, counters, code, text):
    key = sim.add_routing_key("Premium")
    sim.set_counters(key, **counters)
    response = chat(client, rr, key)
    assert response.status_code == 429
    assert response.text == text and response.headers["X-Error-Code"] == code


def test_chat_counts_one_request(client, rr, sim):
    key = sim.add_routing_key()
    response = chat(client, rr, key)
    assert response.json()["object"] == "chat.completion"
    assert usage(client, rr, key).json()["requests_used_today"] == 1


def test_concurrent_stream_limit(client, rr, sim):
    key = sim.add_routing_key("Premium")
    handles = [sim.open_stream(key)[0] for _ in range(50)]
    try:
        response = chat(client, rr, key, stream=True)
        assert response.status_code == 429
        assert response.text == "Concurrent stream limit exceeded"
        assert response.headers["X-Error-Code"] == "RATE_LIMIT_ERROR"
    finally:
        for handle in handles:
            sim.close_stream(handle, "cancelled")


def test_stream_runs_to_length_with_usage_chunk(client, rr, sim):
    key = sim.add_routing_key()
    response = client.post(f"{rr}/chat/completions", headers={"X-API-Key": key},
                           json={"stream": True, "max_tokens": 3})
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse(response.content)
    assert [e.data for e in events][-1] == "[DONE]"
    chunks = [e.json for e in events[:-1]]
    assert [c["object"] for c in chunks] == ["chat.completion.chunk"] * 5
    assert [c["choices"][0]["delta"] for c in chunks[:3]] == [
        {"role": "assistant", "content": "Lorem "}, {"content": "ipsum "}, {"content": "dolor "}]
    assert chunks[3]["choices"] == [{"index": 0, "delta": {}, "finish_reason": "length"}]
    assert chunks[4]["choices"] == [] and chunks[4]["usage"] == {
        "prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
    assert len({c["id"] for c in chunks}) == 1


def test_kill_ends_http_and_internal_streams(client, rr, sim, server):
    key = sim.add_routing_key()
    before = sim.stream_stats()["routing.run"]["killed"]
    lines: list[str] = []
    started = threading.Event()

    def consume():
        with client.stream("POST", f"{rr}/chat/completions", headers={"X-API-Key": key},
                           json={"stream": True, "max_tokens": 100000}) as response:
            for line in response.iter_lines():
                started.set()
                lines.append(line)

    reader = threading.Thread(target=consume)
    reader.start()
    assert started.wait(5)
    assert server.start_stream(key) is None
    killed = client.post(f"{rr}/user/streams/kill", headers={"X-API-Key": key})
    assert killed.json() == {"killed_streams": 2}
    reader.join(5)
    assert not reader.is_alive()
    assert [line for line in lines if line][-1] == "data: [DONE]"
    deadline = time.monotonic() + 3
    while sim.stream_stats()["routing.run"]["killed"] < before + 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sim.stream_stats()["routing.run"]["killed"] == before + 2
    assert sim.active_streams(key) == []
    assert client.post(f"{rr}/user/streams/kill", headers={"X-API-Key": key}).json() == {"killed_streams": 0}


def test_unknown_path_is_plain_404(client, rr, sim):
    response = client.get(f"{rr}/nope", headers={"X-API-Key": sim.add_routing_key()})
    assert response.status_code == 404 and response.headers["X-Error-Code"] == "NOT_FOUND"


def test_request_log(client, rr, sim):
    key = sim.add_routing_key()
    usage(client, rr, key, **{"User-Agent": "tw-test"})
    usage(client, rr, key, "user/requests/hourly")
    assert sim.count(key=key) == 2
    assert sim.count(provider="routing.run", key=key, path="user/requests/hourly") == 1
    record = sim.requests(key=key)[0]
    assert record.method == "GET" and record.headers["user-agent"] == "tw-test"
    assert "x-api-key" not in record.headers and not record.has_origin
