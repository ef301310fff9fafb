"""Reading the user's own traffic: rate-limit headers become meters seen in
traffic, refusals (as a status or an SSE error event) become the account's
state in the provider's own words, and a stopped stream ends in a shape the
user's tool understands. Pure: no network."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.strategies import bodies, header_dicts, statuses
from traywidget.model import (
    FREE_REQUESTS_DAY,
    INPUT_TOKENS_WINDOW,
    OUTPUT_TOKENS_WINDOW,
    REQUESTS_DAY,
    REQUESTS_MINUTE,
    REQUESTS_WINDOW,
    TOKENS_WINDOW,
    ErrorInfo,
    Source,
    State,
    TrafficObservation,
    Unit,
)
from traywidget.providers import PROVIDER_IDS, get_provider
from traywidget.providers.base import TRAFFIC_STATES
from traywidget.providers.from_traffic import (
    STOPPED_MESSAGE,
    is_event_stream,
    is_messages_path,
    response_observation,
    stopped_event,
    stopped_reply,
    stream_observation,
    traffic_meters,
    wants_body,
)
from traywidget.providers.openai_compatible import NO_USAGE_ENDPOINT_NOTE

from .helpers import NOW, by_name, ctx, result

ROUTING = get_provider("routing.run")
OPENROUTER = get_provider("openrouter")
ROUTEWAY = get_provider("routeway")
COMPATIBLE = get_provider("openai-compatible")


# -- meters from rate-limit headers --------------------------------------------


def test_routeway_minute_and_day_headers_become_meters_seen_in_traffic():
    headers = {"X-RateLimit-Limit-Minute": "5", "X-RateLimit-Remaining-Minute": "3", "X-RateLimit-Reset-Minute": "42",
               "X-RateLimit-Limit-Day": "200", "X-RateLimit-Remaining-Day": "150",
               "X-RateLimit-Reset-Day": "48585"}
    obs = response_observation(ROUTEWAY, "rw", result(200, b"{}", headers), NOW)
    assert obs == TrafficObservation(account_id="rw", seen_at=NOW, meters=obs.meters)
    meters = by_name(obs.meters)
    assert set(meters) == {REQUESTS_MINUTE, REQUESTS_DAY}
    minute, day = meters[REQUESTS_MINUTE], meters[REQUESTS_DAY]
    assert (minute.limit, minute.remaining, minute.used, minute.unit) == (5, 3, None, Unit.REQUESTS)
    assert minute.resets_at == NOW + timedelta(seconds=42)
    assert (day.limit, day.remaining, day.resets_at) == (200, 150, NOW + timedelta(seconds=48585))
    for meter in obs.meters:
        assert (meter.source, meter.seen_at) == (Source.TRAFFIC, NOW)


def test_routing_run_per_ip_headers_are_not_the_plan_quota():
    headers = {"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "599"}
    assert response_observation(ROUTING, "rr", result(200, b"{}", headers), NOW) == TrafficObservation("rr", NOW)


def test_openrouter_success_carries_no_meters_but_is_a_good_answer():
    assert response_observation(OPENROUTER, "or", result(200, b"{}"), NOW) == TrafficObservation("or", NOW)


def test_openai_headers_become_request_and_token_windows():
    headers = {"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "499",
               "x-ratelimit-reset-requests": "120ms", "x-ratelimit-limit-tokens": "30000",
               "x-ratelimit-remaining-tokens": "29000", "x-ratelimit-reset-tokens": "6m0s"}
    meters = by_name(traffic_meters(COMPATIBLE, headers, NOW))
    assert set(meters) == {REQUESTS_WINDOW, TOKENS_WINDOW}
    requests, tokens = meters[REQUESTS_WINDOW], meters[TOKENS_WINDOW]
    assert (requests.limit, requests.remaining, requests.unit) == (500, 499, Unit.REQUESTS)
    assert requests.resets_at == NOW + timedelta(milliseconds=120)
    assert (tokens.limit, tokens.remaining, tokens.unit) == (30000, 29000, Unit.TOKENS)
    assert tokens.resets_at == NOW + timedelta(minutes=6)


def test_anthropic_headers_become_input_and_output_token_windows():
    headers = {"anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": "49",
               "anthropic-ratelimit-requests-reset": "2025-03-05T10:31:15Z",
               "anthropic-ratelimit-input-tokens-limit": "40000",
               "anthropic-ratelimit-input-tokens-remaining": "39000",
               "anthropic-ratelimit-output-tokens-limit": "8000",
               "anthropic-ratelimit-output-tokens-remaining": "7990"}
    meters = by_name(traffic_meters(COMPATIBLE, headers, NOW))
    assert set(meters) == {REQUESTS_WINDOW, INPUT_TOKENS_WINDOW, OUTPUT_TOKENS_WINDOW}
    assert (meters[REQUESTS_WINDOW].remaining, meters[REQUESTS_WINDOW].resets_at) == (49, NOW + timedelta(seconds=60))
    assert (meters[INPUT_TOKENS_WINDOW].limit, meters[INPUT_TOKENS_WINDOW].unit) == (40000, Unit.TOKENS)
    assert meters[OUTPUT_TOKENS_WINDOW].remaining == 7990


def test_ietf_ratelimit_fields_become_the_request_window():
    headers = {"RateLimit-Policy": '"default";q=100;w=60', "RateLimit": '"default";r=50;t=30'}
    (meter,) = traffic_meters(COMPATIBLE, headers, NOW)
    assert (meter.name, meter.limit, meter.remaining) == (REQUESTS_WINDOW, 100, 50)
    assert meter.resets_at == NOW + timedelta(seconds=30)


def test_a_window_without_a_limit_shows_nothing_rather_than_a_guess():
    assert traffic_meters(COMPATIBLE, {"x-ratelimit-remaining-requests": "7"}, NOW) == ()


# -- refusals as a status --------------------------------------------------------


def test_routing_run_concurrent_stream_limit_is_a_rate_limit_with_its_kind():
    refusal = result(429, b"Concurrent stream limit exceeded", {"X-Error-Code": "RATE_LIMIT_ERROR"})
    obs = response_observation(ROUTING, "rr", refusal, NOW)
    assert obs == TrafficObservation("rr", NOW, (), State.RATE_LIMITED, ErrorInfo(
        message="Concurrent stream limit exceeded", http_status=429, code="RATE_LIMIT_ERROR",
        limit_kind="concurrent_streams"))


def test_routing_run_model_not_allowed_refuses_one_request_not_the_key():
    refusal = result(403, b"Model not allowed on your plan", {"X-Error-Code": "MODEL_NOT_ALLOWED"})
    assert response_observation(ROUTING, "rr", refusal, NOW) is None


def test_a_402_is_payment_required():
    refusal = result(402, b"Insufficient credits", {"X-Error-Code": "INSUFFICIENT_CREDITS"})
    obs = response_observation(ROUTING, "rr", refusal, NOW)
    assert (obs.state, obs.error.message, obs.error.http_status) == (
        State.PAYMENT_REQUIRED, "Insufficient credits", 402)


def test_openrouter_free_minute_429_gives_the_state_retry_after_and_the_minute_meter():
    reset_ms = int((NOW + timedelta(seconds=40)).timestamp() * 1000)
    body = {"error": {"code": 429, "message": "Rate limit exceeded: free-models-per-minute",
                      "metadata": {"error_type": "rate_limit_exceeded"}}}
    headers = {"Retry-After": "40", "X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0",
               "X-RateLimit-Reset": str(reset_ms)}
    obs = response_observation(OPENROUTER, "or", result(429, body, headers), NOW)
    assert obs.state is State.RATE_LIMITED
    assert obs.error == ErrorInfo(message="Rate limit exceeded: free-models-per-minute", http_status=429,
                                  code="rate_limit_exceeded", retry_after_s=40.0, limit_kind="minute")
    (meter,) = obs.meters
    assert (meter.name, meter.limit, meter.remaining, meter.source) == (REQUESTS_MINUTE, 20, 0, Source.TRAFFIC)
    assert meter.resets_at == NOW + timedelta(seconds=40)


def test_openrouter_free_daily_429_fills_the_free_requests_meter():
    body = {"error": {"code": 429, "message": "Rate limit exceeded: free-models-per-day"}}
    headers = {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "3600"}
    obs = response_observation(OPENROUTER, "or", result(429, body, headers), NOW)
    (meter,) = obs.meters
    assert (meter.name, meter.limit, meter.remaining) == (FREE_REQUESTS_DAY, 50, 0)


def test_routeway_429_with_window_headers():
    body = {"error": {"message": "API key per-minute rate limit exceeded (5 RPM).", "type": "rate_limit_error",
                      "code": "rate_limit_exceeded", "status_code": 429}}
    headers = {"Retry-After": "17", "X-RateLimit-Limit-Minute": "5", "X-RateLimit-Remaining-Minute": "0",
               "X-RateLimit-Reset-Minute": "17"}
    obs = response_observation(ROUTEWAY, "rw", result(429, body, headers), NOW)
    assert (obs.state, obs.error.limit_kind, obs.error.retry_after_s) == (State.RATE_LIMITED, "minute", 17.0)
    assert [(m.name, m.remaining) for m in obs.meters] == [(REQUESTS_MINUTE, 0)]


def test_openai_insufficient_quota_is_a_billing_problem_not_a_rate_limit():
    body = {"error": {"message": "You exceeded your current quota, please check your plan and billing details.",
                      "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}}
    obs = response_observation(COMPATIBLE, "oa", result(429, body), NOW)
    assert (obs.state, obs.error.code) == (State.PAYMENT_REQUIRED, "insufficient_quota")


def test_openai_rate_limit_without_retry_after_waits_for_the_spent_window():
    body = {"error": {"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}}
    headers = {"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "0",
               "x-ratelimit-reset-requests": "20s"}
    obs = response_observation(COMPATIBLE, "oa", result(429, body, headers), NOW)
    assert obs.error == ErrorInfo(message="Rate limit reached for requests", http_status=429,
                                  code="rate_limit_exceeded", retry_after_s=20.0)
    assert [(m.name, m.remaining) for m in obs.meters] == [(REQUESTS_WINDOW, 0)]


def test_anthropic_shaped_401_is_an_auth_error():
    body = {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}
    obs = response_observation(COMPATIBLE, "an", result(401, body), NOW)
    assert (obs.state, obs.error.message, obs.error.code) == (State.AUTH_ERROR, "invalid x-api-key",
                                                              "authentication_error")


def test_a_server_error_or_a_bad_request_says_nothing_about_the_account():
    assert response_observation(OPENROUTER, "or", result(500, {"error": {"code": 500, "message": "x"}}), NOW) is None
    assert response_observation(COMPATIBLE, "oa", result(400, {"error": {"message": "bad"}}), NOW) is None
    assert response_observation(COMPATIBLE, "oa", result(302, b""), NOW) is None


def test_which_bodies_are_read():
    assert [wants_body(s) for s in (200, 204, 301, 400, 401, 402, 403, 404, 429, 500, 503)] == [
        False, False, False, True, True, True, True, True, True, False, False]


# -- refusals inside a 200 stream -----------------------------------------------------


def test_openrouter_error_chunk_mid_stream():
    event = (b'data: {"id":"gen-1","object":"chat.completion.chunk","error":{"code":429,'
             b'"message":"Provider returned error: rate limited upstream"},'
             b'"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}\n\n')
    obs = stream_observation(OPENROUTER, "or", event, {}, NOW)
    assert obs == TrafficObservation("or", NOW, (), State.RATE_LIMITED, ErrorInfo(
        message="Provider returned error: rate limited upstream", http_status=429))


def test_routing_run_error_event_without_a_status_is_read_by_its_words():
    event = b'data: {"error": {"message": "Concurrent stream limit exceeded"}}\n\n'
    obs = stream_observation(ROUTING, "rr", event, {}, NOW)
    assert (obs.state, obs.error.message, obs.error.limit_kind) == (
        State.RATE_LIMITED, "Concurrent stream limit exceeded", "concurrent_streams")


def test_anthropic_error_event():
    event = (b'event: error\r\ndata: {"type": "error", "error": {"type": "rate_limit_error", '
             b'"message": "Number of request tokens has exceeded your per-minute rate limit"}}\r\n\r\n')
    obs = stream_observation(COMPATIBLE, "an", event, {"retry-after": "12"}, NOW)
    assert obs.error == ErrorInfo(message="Number of request tokens has exceeded your per-minute rate limit",
                                  http_status=429, code="rate_limit_error", retry_after_s=12.0, limit_kind="minute")


def test_a_402_event_and_a_data_field_split_over_lines():
    event = b'data: {"error": {"code": 402,\ndata: "message": "Insufficient credits"}}\n\n'
    obs = stream_observation(OPENROUTER, "or", event, {}, NOW)
    assert (obs.state, obs.error.message) == (State.PAYMENT_REQUIRED, "Insufficient credits")


def test_events_that_refuse_nothing():
    for event in (
        b"data: [DONE]\n\n",
        b": OPENROUTER PROCESSING\n\n",
        b'data: {"choices":[{"delta":{"content":"the error was mine"}}]}\n\n',
        b'data: {"error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n',
        b'data: {"error": {"code": 502, "message": "Provider error"}}\n\n',
        b'data: {"error": "not an object"}\n\n',
        b"data: {not json error\n\n",
        b'data: {"error": {"code": 429}}' + b" " * 70_000 + b"\n\n",
    ):
        assert stream_observation(OPENROUTER, "or", event, {}, NOW) is None, event[:60]


# -- a stream stopped from traywidget ---------------------------------------------------


def _events(raw: bytes) -> list[bytes]:
    return [e for e in raw.split(b"\n\n") if e]


def test_stopped_stream_ends_with_one_error_event_in_each_providers_shape():
    routing = _events(stopped_event(ROUTING, "chat/completions"))
    assert routing[1:] == [b"data: [DONE]"]
    assert json.loads(routing[0][6:]) == {"error": {"message": STOPPED_MESSAGE, "code": "STREAM_STOPPED"}}

    openrouter = _events(stopped_event(OPENROUTER, "chat/completions"))
    chunk = json.loads(openrouter[0][6:])
    assert chunk["error"] == {"code": "stream_stopped", "message": STOPPED_MESSAGE}
    assert chunk["choices"][0]["finish_reason"] == "error"
    assert openrouter[1:] == [b"data: [DONE]"]

    for provider in (ROUTEWAY, COMPATIBLE):
        first, done = _events(stopped_event(provider, "chat/completions"))
        assert json.loads(first[6:])["error"]["message"] == STOPPED_MESSAGE
        assert done == b"data: [DONE]"

    (anthropic,) = _events(stopped_event(COMPATIBLE, "v1/messages"))
    name, data = anthropic.split(b"\n")
    assert name == b"event: error"
    assert json.loads(data[6:]) == {"type": "error", "error": {"type": "api_error", "message": STOPPED_MESSAGE}}


def test_the_stopped_event_is_read_back_as_no_refusal_of_the_account():
    for provider_id in PROVIDER_IDS:
        provider = get_provider(provider_id)
        for event in _events(stopped_event(provider, "chat/completions")):
            assert stream_observation(provider, "a", event + b"\n\n", {}, NOW) is None


def test_stopped_reply_in_each_providers_shape_and_never_retried():
    status, body, headers = stopped_reply(ROUTING, "chat/completions")
    assert (status, body) == (499, STOPPED_MESSAGE.encode())
    assert headers == {"Content-Type": "text/plain; charset=utf-8", "X-Error-Code": "STREAM_STOPPED",
                       "x-should-retry": "false"}
    status, body, headers = stopped_reply(OPENROUTER, "chat/completions")
    assert json.loads(body) == {"error": {"code": 499, "message": STOPPED_MESSAGE,
                                          "metadata": {"error_type": "stream_stopped"}}}
    status, body, headers = stopped_reply(COMPATIBLE, "v1/messages?beta=true")
    assert json.loads(body) == {"type": "error", "error": {"type": "api_error", "message": STOPPED_MESSAGE}}
    assert headers["x-should-retry"] == "false"


def test_path_and_content_type_helpers():
    assert is_messages_path("v1/messages") and is_messages_path("messages/") and is_messages_path("messages?x=1")
    assert not is_messages_path("chat/completions") and not is_messages_path("messages/count_tokens")
    assert is_event_stream("text/event-stream; charset=utf-8") and not is_event_stream("application/json")
    assert not is_event_stream(None)


# -- the openai-compatible adapter ----------------------------------------------------------


def test_openai_compatible_polls_nothing_and_says_why_until_traffic_arrives():
    assert COMPATIBLE.poll_requests(True, ctx()) == [] and COMPATIBLE.poll_requests(False, ctx()) == []
    assert COMPATIBLE.notes(ctx()) == (NO_USAGE_ENDPOINT_NOTE,)
    assert "numbers appear after the first request through the gateway" in NO_USAGE_ENDPOINT_NOTE
    assert COMPATIBLE.notes(type(ctx())(now=NOW, seen_traffic=True)) == ()


def test_routeway_without_a_management_key_says_where_its_numbers_come_from():
    from dataclasses import replace

    from traywidget.providers.routeway import NO_MANAGEMENT_KEY_NOTE, TRAFFIC_ONLY_NOTE

    assert ROUTEWAY.notes(ctx()) == (NO_MANAGEMENT_KEY_NOTE,)
    assert ROUTEWAY.notes(replace(ctx(), seen_traffic=True)) == (TRAFFIC_ONLY_NOTE,)
    assert ROUTEWAY.notes(replace(ctx(management=True), seen_traffic=True)) == ()


def test_auth_header_forms_for_forwarded_traffic():
    assert ROUTING.traffic_auth_headers("k", "authorization") == {"X-API-Key": "k"}
    assert OPENROUTER.traffic_auth_headers("k", "x-api-key") == {"Authorization": "Bearer k"}
    assert COMPATIBLE.traffic_auth_headers("k", "authorization") == {"Authorization": "Bearer k"}
    assert COMPATIBLE.traffic_auth_headers("k", "x-api-key") == {"x-api-key": "k"}


# -- never raises, never lies -------------------------------------------------------------------

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
providers = st.sampled_from(PROVIDER_IDS).map(get_provider)


@pytest.mark.slow
@FUZZ
@given(providers, statuses | st.sampled_from([200, 204]), bodies, header_dicts)
def test_any_response_gives_a_sane_observation_or_none(provider, status, body, headers):
    obs = response_observation(provider, "a", result(status, body, headers), NOW)
    if obs is None:
        return
    assert obs.state is None or obs.state in TRAFFIC_STATES  # (a Cloudflare block, a LiteLLM budget too)
    for meter in obs.meters:
        assert meter.source is Source.TRAFFIC and meter.seen_at == NOW
        assert meter.limit is not None and meter.limit > 0
        assert meter.remaining is None or 0 <= meter.remaining <= meter.limit


@pytest.mark.slow
@FUZZ
@given(providers, bodies, header_dicts)
def test_any_event_gives_a_refusal_or_none(provider, body, headers):
    for event in (body, b"data: " + body + b"\n\n", b'data: {"error": ' + body + b"}\n\n"):
        obs = stream_observation(provider, "a", event, headers, NOW)
        assert obs is None or obs.state in TRAFFIC_STATES
