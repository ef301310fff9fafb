"""The openai-compatible prefix: OpenAI endpoints with x-ratelimit-* headers,
and the Anthropic-style /messages with anthropic-ratelimit-* headers."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import httpx
import pytest

from tests.simulator.sse import parse
from traywidget.simulator.payloads import model_list
from traywidget.simulator.ratelimit_headers import go_duration

ANTHROPIC = {"anthropic-version": "2023-06-01"}


@pytest.fixture
def base(server):
    return server.url("openai-compatible")


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def limit_headers(response):
    return {k: v for k, v in response.headers.items() if "ratelimit" in k or k.startswith("retry-after")}


def test_chat_answer_carries_exact_openai_headers(client, sim, base):
    key = sim.add_openai_compatible_key(rpm=60, tpm=150_000)
    response = client.post(f"{base}/chat/completions", headers=bearer(key), json={"messages": []})
    assert response.status_code == 200
    assert response.json()["usage"] == {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20}
    # one request of 60/min refills in 1 s; 20 tokens of 150,000/min in 8 ms
    assert limit_headers(response) == {
        "x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "59",
        "x-ratelimit-reset-requests": "1s",
        "x-ratelimit-limit-tokens": "150000", "x-ratelimit-remaining-tokens": "149980",
        "x-ratelimit-reset-tokens": "8ms"}


def test_requests_window_used_up_gives_429_with_retry_headers(client, sim, base, clock):
    key = sim.add_openai_compatible_key(rpm=3)
    for remaining, reset in ((2, "20s"), (1, "40s"), (0, "1m0s")):
        ok = client.post(f"{base}/chat/completions", headers=bearer(key), json={"messages": []})
        assert ok.headers["x-ratelimit-remaining-requests"] == str(remaining)
        assert ok.headers["x-ratelimit-reset-requests"] == reset
    refused = client.post(f"{base}/chat/completions", headers=bearer(key), json={"messages": []})
    assert refused.status_code == 429
    assert refused.headers["retry-after-ms"] == "20000" and refused.headers["Retry-After"] == "20"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.json() == {"error": {
        "message": "Rate limit reached for requests per min (RPM): Limit 3, Remaining 0. Please try again in 20s.",
        "type": "requests", "param": None, "code": "rate_limit_exceeded"}}
    clock.advance(20)
    assert client.post(f"{base}/chat/completions", headers=bearer(key), json={"messages": []}).status_code == 200


def test_tokens_window_used_up(client, sim, base):
    key = sim.add_openai_compatible_key(tpm=30)
    assert client.post(f"{base}/chat/completions", headers=bearer(key), json={"messages": []}).status_code == 200
    refused = client.post(f"{base}/chat/completions", headers=bearer(key), json={"messages": []})
    assert refused.status_code == 429 and refused.json()["error"]["type"] == "tokens"
    assert refused.headers["x-ratelimit-remaining-tokens"] == "10"
    assert refused.headers["retry-after-ms"] == "20000"  # 10 more tokens at 30/min


def test_models_spend_nothing_and_report_limits(client, sim, base):
    key = sim.add_openai_compatible_key(rpm=5)
    for _ in range(3):
        response = client.get(f"{base}/models", headers=bearer(key))
        assert response.status_code == 200
        assert response.headers["x-ratelimit-remaining-requests"] == "5"
    assert [m["id"] for m in response.json()["data"]] == [
        "gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "claude-3-5-haiku-latest"]
    assert response.json()["object"] == "list"


def test_embeddings(client, sim, base):
    key = sim.add_openai_compatible_key(tpm=1000)
    response = client.post(f"{base}/embeddings", headers=bearer(key),
                           json={"model": "text-embedding-3-small", "input": ["one two three", "four"]})
    body = response.json()
    assert [d["index"] for d in body["data"]] == [0, 1] and len(body["data"][0]["embedding"]) == 8
    assert body["usage"] == {"prompt_tokens": 4, "total_tokens": 4}
    assert response.headers["x-ratelimit-remaining-tokens"] == "996"
    assert response.headers["x-ratelimit-remaining-requests"] == "59"
    bad = client.post(f"{base}/embeddings", headers=bearer(key), json={"model": "x"})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("headers, status, body", [
    ({}, 401, {"message": "You didn't provide an API key. You need to provide your API key in an "
                          "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
               "type": "invalid_request_error", "param": None, "code": None}),
    ({"Authorization": "Bearer sk-nobody"}, 401,
     {"message": "Incorrect API key provided.", "type": "invalid_request_error", "param": None,
      "code": "invalid_api_key"}),
])
def test_openai_auth_errors(client, base, headers, status, body):
    for path in ("chat/completions", "embeddings"):
        response = client.post(f"{base}/{path}", headers=headers, json={"input": "x"})
        assert response.status_code == status and response.json() == {"error": body}
        assert "x-ratelimit-limit-requests" not in response.headers
    assert client.get(f"{base}/models", headers=headers).json() == {"error": body}


def test_x_api_key_is_not_an_openai_auth_form(client, sim, base):
    key = sim.add_openai_compatible_key()
    assert client.post(f"{base}/chat/completions", headers={"x-api-key": key}, json={}).status_code == 401


def test_unknown_path_is_openai_404(client, sim, base):
    response = client.get(f"{base}/nope", headers=bearer(sim.add_openai_compatible_key()))
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid URL (GET /openai-compatible/v1/nope)"


@pytest.mark.parametrize("auth", ["x-api-key", "bearer"])
def test_messages_plain_with_anthropic_headers(client, sim, base, clock, auth):
    clock.set(datetime(2025, 3, 4, 10, 0, 0, tzinfo=UTC))
    key = sim.add_openai_compatible_key(rpm=50, tpm=10_000)
    headers = {"x-api-key": key, **ANTHROPIC} if auth == "x-api-key" else {**bearer(key), **ANTHROPIC}
    response = client.post(f"{base}/messages", headers=headers,
                           json={"model": "claude-3-5-haiku-latest", "max_tokens": 5, "messages": []})
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "message" and body["content"] == [{"type": "text", "text": "Lorem ipsum dolor sit amet"}]
    assert body["stop_reason"] == "max_tokens" and body["usage"] == {"input_tokens": 12, "output_tokens": 5}
    # 1 of 50 requests refills in 1.2 s; 17 of 10,000 tokens in 0.102 s (both rounded up to the second)
    assert limit_headers(response) == {
        "anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": "49",
        "anthropic-ratelimit-requests-reset": "2025-03-04T10:00:02Z",
        "anthropic-ratelimit-tokens-limit": "10000", "anthropic-ratelimit-tokens-remaining": "9983",
        "anthropic-ratelimit-tokens-reset": "2025-03-04T10:00:01Z"}
    assert not any(k.startswith("x-ratelimit") for k in response.headers)


def test_messages_stream_events(client, sim, base):
    key = sim.add_openai_compatible_key()
    sim.script_streams(key, events=3, interval_s=0)
    response = client.post(f"{base}/messages", headers={"x-api-key": key, **ANTHROPIC},
                           json={"model": "claude-3-5-haiku-latest", "max_tokens": 100, "stream": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "anthropic-ratelimit-requests-remaining" in response.headers
    events = parse(response.content)
    assert [e.name for e in events] == ["message_start", "content_block_start", "ping", "content_block_delta",
                                        "content_block_delta", "content_block_delta", "content_block_stop",
                                        "message_delta", "message_stop"]
    assert all(e.json["type"] == e.name for e in events)
    assert "".join(e.json["delta"]["text"] for e in events if e.name == "content_block_delta") == "Lorem ipsum dolor "
    assert events[-2].json["usage"] == {"output_tokens": 3}
    assert events[-2].json["delta"]["stop_reason"] == "end_turn"


def test_messages_429_in_anthropic_form_plain_and_mid_stream(client, sim, base):
    key = sim.add_openai_compatible_key(rpm=1)
    headers = {"x-api-key": key, **ANTHROPIC}
    sim.script_streams(key, error_after=1, interval_s=0)
    streamed = client.post(f"{base}/messages", headers=headers, json={"stream": True, "max_tokens": 5})
    events = parse(streamed.content)
    assert events[-1].name == "error"
    assert events[-1].json == {"type": "error", "error": {
        "type": "rate_limit_error",
        "message": "This request would exceed your organization's rate limit of 1 requests per minute."}}
    refused = client.post(f"{base}/messages", headers=headers, json={"max_tokens": 5})
    assert refused.status_code == 429 and refused.headers["retry-after"] == "60"
    assert refused.json()["type"] == "error" and refused.json()["error"]["type"] == "rate_limit_error"
    assert refused.headers["anthropic-ratelimit-requests-remaining"] == "0"


@pytest.mark.parametrize("headers, status, error", [
    ({}, 401, {"type": "authentication_error", "message": "x-api-key header is required"}),
    ({"x-api-key": "sk-nobody", **ANTHROPIC}, 401, {"type": "authentication_error", "message": "invalid x-api-key"}),
    ("known key, no version", 400,
     {"type": "invalid_request_error", "message": "anthropic-version: header is required"}),
])
def test_messages_refusals(client, sim, base, headers, status, error):
    if headers == "known key, no version":
        headers = {"x-api-key": sim.add_openai_compatible_key()}
    response = client.post(f"{base}/messages", headers=headers, json={"max_tokens": 5})
    assert response.status_code == status and response.json() == {"type": "error", "error": error}


@pytest.mark.parametrize("seconds, text", [
    (0, "0s"), (0.0004, "1ms"), (0.012, "12ms"), (1, "1s"), (1.5, "1.5s"), (59.999, "59.999s"),
    (60, "1m0s"), (90.5, "1m30.5s"), (360, "6m0s"), (3600, "1h0m0s"), (86400, "24h0m0s"), (-3, "0s"),
])
def test_go_durations(seconds, text):
    assert go_duration(seconds) == text


def test_gzip_only_when_asked(sim, base):
    key = sim.add_openai_compatible_key()
    with httpx.Client() as plain:
        identity = plain.post(f"{base}/chat/completions", headers={**bearer(key), "Accept-Encoding": "identity"},
                              json={"messages": []})
        assert "content-encoding" not in identity.headers
        zipped = plain.post(f"{base}/chat/completions", headers={**bearer(key), "Accept-Encoding": "gzip"},
                            json={"messages": []})
        assert zipped.headers["content-encoding"] == "gzip"
        assert zipped.json()["object"] == "chat.completion"
        refused = plain.post(f"{base}/chat/completions", headers={**bearer(key), "Accept-Encoding": "gzip;q=0"},
                             json={"messages": []})
        assert "content-encoding" not in refused.headers
    with httpx.Client() as c, c.stream("GET", f"{base}/models",
                                       headers={**bearer(key), "Accept-Encoding": "gzip"}) as response:
        raw = b"".join(response.iter_raw())
    assert raw[:2] == b"\x1f\x8b"
    assert json.loads(gzip.decompress(raw)) == model_list()


def test_legacy_completions_plain_and_streamed(client, sim, base):
    key = sim.add_openai_compatible_key()
    plain = client.post(f"{base}/completions", headers=bearer(key), json={"prompt": "Say", "max_tokens": 3})
    assert plain.json()["object"] == "text_completion"
    assert plain.json()["choices"] == [{"text": "Lorem ipsum dolor", "index": 0, "logprobs": None,
                                        "finish_reason": "length"}]
    assert plain.headers["x-ratelimit-remaining-requests"] == "59"
    streamed = client.post(f"{base}/completions", headers=bearer(key),
                           json={"prompt": "Say", "max_tokens": 2, "stream": True,
                                 "stream_options": {"include_usage": True}})
    events = parse(streamed.content)
    assert events[-1].data == "[DONE]"
    chunks = [e.json for e in events[:-1]]
    assert [c["choices"][0]["text"] for c in chunks[:3]] == ["Lorem ", "ipsum ", ""]
    assert chunks[2]["choices"][0]["finish_reason"] == "length"
    assert chunks[3]["usage"] == {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14}
    assert {c["object"] for c in chunks} == {"text_completion"}


def test_a_short_window_refills_in_seconds(client, sim, base, clock):
    """The short-window scenario real-time tests cross resets with: 3 requests per 3 s."""
    key = sim.add_openai_compatible_key(rpm=3, window_s=3)
    for remaining, reset in ((2, "1s"), (1, "2s"), (0, "3s")):
        ok = client.post(f"{base}/chat/completions", headers=bearer(key), json={"messages": []})
        assert (ok.headers["x-ratelimit-remaining-requests"], ok.headers["x-ratelimit-reset-requests"]) == (
            str(remaining), reset)
    refused = client.post(f"{base}/chat/completions", headers=bearer(key), json={"messages": []})
    assert refused.status_code == 429
    assert refused.headers["retry-after-ms"] == "1000" and refused.headers["Retry-After"] == "1"
    clock.advance(3)
    full = client.post(f"{base}/chat/completions", headers=bearer(key), json={"messages": []})
    assert full.headers["x-ratelimit-remaining-requests"] == "2"
    with pytest.raises(ValueError):
        sim.add_openai_compatible_key(window_s=0)
