"""Every fault kind, seen from the client side, on each provider's usage endpoint."""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime

import httpx
import pytest

PROVIDERS = ["routing.run", "openrouter", "routeway"]


@pytest.fixture(params=PROVIDERS)
def target(request, sim, server):
    """(provider, key the fault goes on, a function doing one usage request)."""
    provider = request.param
    base = server.url(provider)
    if provider == "routing.run":
        key = sim.add_routing_key()
        return provider, key, lambda c, **kw: c.get(f"{base}/user/requests", headers={"X-API-Key": key}, **kw)
    if provider == "openrouter":
        key = sim.add_openrouter_key(limit=5.0)
        return provider, key, lambda c, **kw: c.get(f"{base}/key", headers={"Authorization": f"Bearer {key}"}, **kw)
    mgmt = sim.add_management_key(sim.add_routeway_key())
    return provider, mgmt, lambda c, **kw: c.get(f"{base}/account/keys", headers={"Authorization": f"Bearer {mgmt}"},
                                                 **kw)


def numbers(value):
    if isinstance(value, dict):
        return [n for v in value.values() for n in numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in numbers(v)]
    return [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


@pytest.mark.slow
def test_latency(client, sim, target):
    _, key, get = target
    sim.inject(key, "latency", ms=300, count=1)
    started = time.monotonic()
    assert get(client).status_code == 200
    assert time.monotonic() - started >= 0.25


@pytest.mark.slow
def test_hang_until_client_gives_up(client, sim, target):
    _, key, get = target
    sim.inject(key, "hang", count=1)
    with pytest.raises(httpx.ReadTimeout):
        get(client, timeout=0.3)
    assert get(client).status_code == 200


def test_reset_mid_body(client, sim, target):
    _, key, get = target
    sim.inject(key, "reset", count=1)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        get(client)


def test_html_5xx(client, sim, target):
    _, key, get = target
    sim.inject(key, "http_500_html", count=1, status=503)
    response = get(client)
    assert response.status_code == 503 and response.headers["content-type"].startswith("text/html")
    assert "<html>" in response.text


def test_json_500(client, sim, target):
    provider, key, get = target
    sim.inject(key, "json_500", count=1)
    response = get(client)
    assert response.status_code == 500
    if provider == "routing.run":
        assert response.json() == {"message": "Internal server error"}
    else:
        assert response.json()["error"]["message"]


def test_truncated_json(client, sim, target):
    _, key, get = target
    sim.inject(key, "truncated_json", count=1)
    response = get(client)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


@pytest.mark.parametrize("fault, check", [
    ("negative", lambda ns: ns and all(n < 0 for n in ns)),
    ("huge", lambda ns: ns and all(n >= 1e300 for n in ns)),
    ("missing_fields", lambda ns: ns == []),
])
def test_number_faults(client, sim, target, fault, check):
    _, key, get = target
    sim.inject(key, fault, count=1)
    assert check(numbers(get(client).json()))


def test_nan_literal(client, sim, target):
    _, key, get = target
    sim.inject(key, "nan", count=1)
    assert "NaN" in get(client).text


def test_wrong_types(client, sim, target):
    _, key, get = target
    sim.inject(key, "wrong_types", count=1)
    flat = json.dumps(get(client).json())
    assert '": "' in flat and '": [' in flat  # numbers came as strings and as lists


def test_missing_named_fields(client, sim, rr):
    key = sim.add_routing_key()
    sim.inject(key, "missing_fields", count=1, fields=["requests_remaining_this_hour"])
    body = client.get(f"{rr}/user/requests", headers={"X-API-Key": key}).json()
    assert "requests_remaining_this_hour" not in body and "requests_used_this_hour" in body


@pytest.mark.parametrize("status", [401, 402, 403])
def test_status_faults_in_provider_form(client, sim, target, status):
    provider, key, get = target
    sim.inject(key, f"status_{status}", count=1)
    response = get(client)
    assert response.status_code == status
    if provider == "routing.run":
        assert response.headers["X-Error-Code"] and response.headers["content-type"].startswith("text/plain")
    elif provider == "openrouter":
        assert response.json()["error"]["code"] == status
    else:
        assert response.json()["error"]["type"] in {"authentication_error", "permission_error", "invalid_request_error"}


@pytest.mark.parametrize("params, expect", [
    ({"retry_after": 7}, "7"), ({"retry_after": 30, "http_date": True}, "date"), ({}, None),
])
def test_status_429_retry_after_forms(client, sim, target, params, expect):
    provider, key, get = target
    sim.inject(key, "status_429", count=1, **params)
    response = get(client)
    assert response.status_code == 429
    retry = response.headers.get("Retry-After")
    if expect == "date":
        assert parsedate_to_datetime(retry) > sim.now()
    else:
        assert retry == expect
    if provider == "routing.run":
        assert response.text == "Hourly request limit exceeded"
        assert response.headers["X-Error-Code"] == "RATE_LIMIT_ERROR"
    elif provider == "openrouter":
        assert response.json()["error"]["metadata"] == {"error_type": "rate_limit_exceeded"}
        assert int(response.headers["X-RateLimit-Reset"]) > 10**12  # epoch milliseconds
    else:
        assert response.json()["error"]["code"] == "rate_limit_exceeded"
        assert "X-RateLimit-Remaining-Minute" in response.headers


def test_routing_429_daily_and_concurrent_bodies(client, sim, rr):
    key = sim.add_routing_key()
    sim.inject(key, "status_429", count=1, limit="daily")
    response = client.get(f"{rr}/user/requests", headers={"X-API-Key": key})
    assert response.headers["X-Error-Code"] == "DAILY_REQUEST_LIMIT_EXCEEDED"
    sim.inject(key, "status_429", count=1, limit="concurrent")
    assert client.get(f"{rr}/user/requests", headers={"X-API-Key": key}).text == "Concurrent stream limit exceeded"


def test_routeway_legacy_429_form(client, sim, rw):
    mgmt = sim.add_management_key(sim.add_routeway_key())
    sim.inject(mgmt, "status_429", count=1, form="legacy", retry_after=5)
    error = client.get(f"{rw}/account/keys", headers={"Authorization": f"Bearer {mgmt}"}).json()["error"]
    assert error["type"] == "error" and error["code"] == 429 and "tip" in error


def test_routing_ip_limit(client, sim, rr):
    key = sim.add_routing_key()
    sim.inject(key, "ip_limit", count=1, retry_after=12)
    response = client.get(f"{rr}/user/requests", headers={"X-API-Key": key})
    assert response.status_code == 429 and response.headers["Retry-After"] == "12"
    assert response.json() == {"message": "Rate limit exceeded. Please try again later.", "retry_after": 12}
    assert "X-Error-Code" not in response.headers


@pytest.mark.slow
def test_slow_drip(client, sim, target):
    _, key, get = target
    sim.inject(key, "slow_drip", count=1, seconds=0.5, chunk=16)
    started = time.monotonic()
    response = get(client)
    assert response.status_code == 200 and response.json()
    assert time.monotonic() - started >= 0.4


def test_count_and_until_cleared(client, sim, target):
    _, key, get = target
    sim.inject(key, "status_403", count=2)
    assert [get(client).status_code for _ in range(3)] == [403, 403, 200]
    sim.inject(key, "status_402")
    assert [get(client).status_code for _ in range(3)] == [402] * 3
    sim.clear(key)
    assert get(client).status_code == 200


def test_error_fault_on_kill_kills_nothing(client, sim, rr, server):
    key = sim.add_routing_key()
    assert server.start_stream(key) is None
    sim.inject(key, "status_401", count=1)
    assert client.post(f"{rr}/user/streams/kill", headers={"X-API-Key": key}).status_code == 401
    assert len(sim.active_streams(key)) == 1
    assert client.post(f"{rr}/user/streams/kill", headers={"X-API-Key": key}).json() == {"killed_streams": 1}


def test_unknown_fault_and_param_rejected(sim):
    key = sim.add_routing_key()
    with pytest.raises(ValueError):
        sim.inject(key, "meteor")
    with pytest.raises(ValueError):
        sim.inject(key, "latency", seconds=3)


def completion_target(sim, server, provider):
    """(key, base, headers) for chat completions of a fresh account."""
    key = sim.add_account(provider)["api_key"]
    headers = {"X-API-Key": key} if provider == "routing.run" else {"Authorization": f"Bearer {key}"}
    return key, server.url(provider), headers


ALL_PROVIDERS = PROVIDERS + ["openai-compatible"]


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_error_faults_answer_completions_and_spend_nothing(client, sim, server, provider):
    key, base, headers = completion_target(sim, server, provider)
    sim.inject(key, "http_500_html", count=1, status=502)
    response = client.post(f"{base}/chat/completions", headers=headers, json={"messages": []})
    assert response.status_code == 502 and "<html>" in response.text
    sim.inject(key, "status_429", count=1, retry_after=9)
    streamed = client.post(f"{base}/chat/completions", headers=headers, json={"stream": True})
    assert streamed.status_code == 429 and streamed.headers["Retry-After"] == "9"
    assert sim.stream_stats(key)["finished"] == 0
    assert client.post(f"{base}/chat/completions", headers=headers, json={"messages": []}).status_code == 200
    if provider == "routing.run":
        assert sim.routing_usage(key)["requests_used_today"] == 1
    if provider == "openai-compatible":
        assert sim.openai_windows(key)["requests"][1] == 59
        assert streamed.json()["error"]["type"] == "requests"


def test_openai_compatible_429_fault_has_openai_headers(client, sim, server):
    key, base, headers = completion_target(sim, server, "openai-compatible")
    sim.inject(key, "status_429", count=1, retry_after=3)
    response = client.post(f"{base}/chat/completions", headers=headers, json={})
    assert response.headers["Retry-After"] == "3" and response.headers["retry-after-ms"] == "3000"
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    sim.inject(key, "status_401", count=1)
    anthropic = client.post(f"{base}/messages", headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
                            json={})
    assert anthropic.status_code == 401 and anthropic.json() == {
        "type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}


@pytest.mark.slow
def test_hang_fault_holds_a_stream_request_before_headers(client, sim, server):
    key, base, headers = completion_target(sim, server, "openrouter")
    sim.inject(key, "hang", count=1)
    with pytest.raises(httpx.ReadTimeout):
        client.post(f"{base}/chat/completions", headers=headers, json={"stream": True}, timeout=0.3)
    assert client.post(f"{base}/chat/completions", headers=headers, json={"stream": True}).status_code == 200


def test_body_faults_wait_for_a_plain_request(client, sim, server):
    key, base, headers = completion_target(sim, server, "routeway")
    sim.inject(key, "truncated_json", count=1)
    streamed = client.post(f"{base}/chat/completions", headers=headers, json={"stream": True, "max_tokens": 2})
    assert streamed.status_code == 200 and streamed.text.endswith("data: [DONE]\n\n")
    plain = client.post(f"{base}/chat/completions", headers=headers, json={"messages": []})
    with pytest.raises(json.JSONDecodeError):
        json.loads(plain.text)
    assert client.post(f"{base}/chat/completions", headers=headers,
                       json={"messages": []}).json()["object"] == "chat.completion"
