"""routing.run adapter: requests, usage fields, Lite's 0/0, errors, kill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from traywidget.model import (
    REQUESTS_DAY,
    REQUESTS_HOUR,
    REQUESTS_MINUTE,
    ProviderError,
    State,
)
from traywidget.providers import get_provider
from traywidget.providers.base import Credential, RequestSpec
from traywidget.providers.routing_run import RoutingRun

from .helpers import NOW, assert_sane_meter, by_name, ctx, result, spec

P = RoutingRun()
FULL = spec("requests", "user/requests")
HOURLY = spec("hourly", "user/requests/hourly")

DOC_FULL = {
    "requests_used_today": 120,
    "requests_limit_today": 1500,
    "requests_remaining": 1380,
    "requests_used_this_hour": 80,
    "requests_limit_this_hour": 500,
    "requests_remaining_this_hour": 420,
    "requests_used_this_minute": 3,
    "requests_limit_per_minute": 100,
    "requests_remaining_this_minute": 97,
    "plan_tier": "Premium",
}


def test_identity():
    assert (P.id, P.display_name, P.default_base_url, P.supports_kill) == (
        "routing.run",
        "routing.run",
        "https://api.routing.run/v1",
        True,
    )
    assert isinstance(get_provider("routing.run"), RoutingRun)


def test_auth_headers_use_x_api_key_and_never_origin():
    headers = P.auth_headers("rk_" + "a" * 64)
    assert headers == {"X-API-Key": "rk_" + "a" * 64}
    assert not {h.lower() for h in headers} & {"origin", "referer"}
    assert not {h.lower() for h in P.extra_headers} & {"origin", "referer"}


def test_poll_requests():
    assert P.poll_requests(False, ctx()) == [RequestSpec("hourly", "user/requests/hourly")]
    assert P.poll_requests(True, ctx()) == [RequestSpec("requests", "user/requests")]
    assert all(s.credential is Credential.API for s in P.poll_requests(True, ctx(management=True)))


def test_full_documented_example():
    reading = P.parse(FULL, result(body=DOC_FULL), ctx())
    meters = by_name(reading.meters)
    assert reading.plan == "Premium"
    assert set(meters) == {REQUESTS_MINUTE, REQUESTS_HOUR, REQUESTS_DAY}
    minute, hour, day = meters[REQUESTS_MINUTE], meters[REQUESTS_HOUR], meters[REQUESTS_DAY]
    assert (minute.used, minute.limit, minute.remaining) == (3, 100, 97)
    assert minute.approximate_reset and minute.resets_at == NOW + timedelta(seconds=60)
    assert (hour.used, hour.limit, hour.remaining) == (80, 500, 420)
    assert hour.resets_at == datetime(2025, 3, 5, 11, 0, tzinfo=UTC)
    assert not hour.approximate_reset
    assert (day.used, day.limit, day.remaining) == (120, 1500, 1380)
    assert day.resets_at == datetime(2025, 3, 6, tzinfo=UTC)
    for meter in reading.meters:
        assert_sane_meter(meter)


def test_lite_zero_hourly_means_no_cap():
    body = dict(DOC_FULL, requests_limit_this_hour=0, requests_remaining_this_hour=0, plan_tier="Lite")
    hour = by_name(P.parse(FULL, result(body=body), ctx()).meters)[REQUESTS_HOUR]
    assert hour.limit is None and hour.remaining is None
    assert not hour.capped and hour.fraction_left is None
    assert hour.used == 80


def test_lite_hourly_endpoint_zero_zero():
    reading = P.parse(HOURLY, result(body={"limit": 0, "used": 12, "remaining": 0, "plan_tier": "Lite"}), ctx())
    (hour,) = reading.meters
    assert (hour.name, hour.limit, hour.remaining, hour.used) == (REQUESTS_HOUR, None, None, 12)
    assert reading.plan == "Lite"


def test_hourly_documented_example():
    reading = P.parse(HOURLY, result(body={"limit": 500, "used": 80, "remaining": 420, "plan_tier": "Premium"}), ctx())
    (hour,) = reading.meters
    assert (hour.name, hour.used, hour.limit, hour.remaining) == (REQUESTS_HOUR, 80, 500, 420)
    assert hour.resets_at == datetime(2025, 3, 5, 11, tzinfo=UTC)
    assert reading.plan == "Premium"


def test_top_of_hour_and_midnight_edges():
    late = datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)
    meters = by_name(P.parse(FULL, result(body=DOC_FULL), ctx(now=late)).meters)
    assert meters[REQUESTS_HOUR].resets_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert meters[REQUESTS_DAY].resets_at == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("overrides", "meter", "expected"),
    [
        # remaining missing: computed from limit - used
        ({"requests_remaining": None}, REQUESTS_DAY, (120, 1500, 1380)),
        ({"requests_remaining": "lots"}, REQUESTS_DAY, (120, 1500, 1380)),
        # remaining above limit: clamped
        ({"requests_remaining_this_minute": 5000}, REQUESTS_MINUTE, (3, 100, 100)),
        # negative / NaN / bool → unknown, then computed
        ({"requests_remaining_this_hour": -3}, REQUESTS_HOUR, (80, 500, 420)),
        ({"requests_used_this_hour": float("nan"), "requests_remaining_this_hour": None}, REQUESTS_HOUR,
         (None, 500, None)),
        ({"requests_limit_today": True}, REQUESTS_DAY, (120, None, None)),
        # used above limit: remaining 0, never negative
        ({"requests_used_today": 1600, "requests_remaining": None}, REQUESTS_DAY, (1600, 1500, 0)),
        # absurd
        ({"requests_limit_today": 1e300}, REQUESTS_DAY, (120, None, None)),
    ],
)
def test_bad_fields_become_unknown(overrides, meter, expected):
    body = {**DOC_FULL, **overrides}
    body = {k: v for k, v in body.items() if v is not None}
    m = by_name(P.parse(FULL, result(body=body), ctx()).meters)[meter]
    assert (m.used, m.limit, m.remaining) == expected
    assert_sane_meter(m)


def test_plan_tier_non_string_is_none():
    assert P.parse(FULL, result(body=dict(DOC_FULL, plan_tier=7)), ctx()).plan is None


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"<html>oops</html>", b"[]", b"42", b'"x"', b"null", b"{}", b'{"foo": 1}', b"\xff\xfe\x00"],
)
@pytest.mark.parametrize("which", [FULL, HOURLY])
def test_malformed_bodies(body, which):
    with pytest.raises(ProviderError) as caught:
        P.parse(which, result(body=body), ctx())
    assert caught.value.state is State.ERROR
    assert caught.value.info.code == "MALFORMED_RESPONSE"


# -- errors ----------------------------------------------------------------------

ERROR_TABLE = [
    # status, headers, body, state, message, code, limit_kind
    (401, {"X-Error-Code": "AUTHENTICATION_ERROR"}, b"Invalid API key", State.AUTH_ERROR, "Invalid API key",
     "AUTHENTICATION_ERROR", None),
    (401, {}, b'{"message":"Authentication required"}', State.AUTH_ERROR, "Authentication required", None, None),
    (403, {"X-Error-Code": "AUTHORIZATION_ERROR"}, b"Forbidden", State.AUTH_ERROR, "Forbidden", "AUTHORIZATION_ERROR",
     None),
    (403, {"X-Error-Code": "MODEL_NOT_ALLOWED"}, b"Model not allowed on your plan", State.AUTH_ERROR,
     "Model not allowed on your plan", "MODEL_NOT_ALLOWED", None),
    (403, {}, b'{"message":"Access denied"}', State.AUTH_ERROR, "Access denied", None, None),
    (402, {"X-Error-Code": "INSUFFICIENT_CREDITS"}, b"Insufficient credits", State.PAYMENT_REQUIRED,
     "Insufficient credits", "INSUFFICIENT_CREDITS", None),
    (404, {"X-Error-Code": "NOT_FOUND"}, b"Not found", State.ERROR, "Not found", "NOT_FOUND", None),
    (429, {"X-Error-Code": "RATE_LIMIT_ERROR"}, b"Hourly request limit exceeded", State.RATE_LIMITED,
     "Hourly request limit exceeded", "RATE_LIMIT_ERROR", "hourly"),
    (429, {"X-Error-Code": "RATE_LIMIT_ERROR"}, b"Concurrent stream limit exceeded", State.RATE_LIMITED,
     "Concurrent stream limit exceeded", "RATE_LIMIT_ERROR", "concurrent_streams"),
    (429, {"X-Error-Code": "DAILY_REQUEST_LIMIT_EXCEEDED"}, b"Request limit exceeded", State.RATE_LIMITED,
     "Request limit exceeded", "DAILY_REQUEST_LIMIT_EXCEEDED", "daily"),
    (429, {"X-Error-Code": "RATE_LIMIT_ERROR"}, b"Daily request limit exceeded", State.RATE_LIMITED,
     "Daily request limit exceeded", "RATE_LIMIT_ERROR", "daily"),
    (429, {"Retry-After": "17", "X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0"},
     b'{"message":"Rate limit exceeded. Please try again later.","retry_after":17}', State.RATE_LIMITED,
     "Rate limit exceeded. Please try again later.", None, "ip"),
    (500, {}, b'{"message":"Internal server error"}', State.ERROR, "Internal server error", None, None),
    (502, {"X-Error-Code": "PROVIDER_ERROR"}, b"Upstream provider failed", State.ERROR, "Upstream provider failed",
     "PROVIDER_ERROR", None),
    (504, {"X-Error-Code": "PROVIDER_ERROR"}, b"Upstream timeout", State.ERROR, "Upstream timeout", "PROVIDER_ERROR",
     None),
    (503, {"X-Error-Code": "CIRCUIT_BREAKER_OPEN"}, b"Circuit breaker open", State.ERROR, "Circuit breaker open",
     "CIRCUIT_BREAKER_OPEN", None),
    # a status that says nothing: the code decides
    (400, {"X-Error-Code": "INSUFFICIENT_CREDITS"}, b"No credits", State.PAYMENT_REQUIRED, "No credits",
     "INSUFFICIENT_CREDITS", None),
    (418, {}, b"", State.ERROR, "HTTP 418 I'm a Teapot from provider", None, None),
]


@pytest.mark.parametrize(("status", "headers", "body", "state", "message", "code", "kind"), ERROR_TABLE)
def test_error_table(status, headers, body, state, message, code, kind):
    err = P.error_for(FULL, result(status, body, headers), ctx())
    assert isinstance(err, ProviderError)
    assert err.state is state
    assert err.info.message == message
    assert str(err) == message
    assert err.info.http_status == status
    assert err.info.code == code
    assert err.info.limit_kind == kind


@pytest.mark.parametrize(
    ("headers", "body", "retry"),
    [
        ({"Retry-After": "17"}, b'{"message":"Rate limit exceeded. Please try again later.","retry_after":99}', 17.0),
        ({}, b'{"message":"Rate limit exceeded. Please try again later.","retry_after":23}', 23.0),
        ({}, b'{"message":"Rate limit exceeded. Please try again later.","retry_after":-1}', None),
        ({}, b'{"message":"Rate limit exceeded. Please try again later.","retry_after":"soon"}', None),
        ({"Retry-After": "Wed, 05 Mar 2025 10:31:15 GMT"}, b"Hourly request limit exceeded", 60.0),
        ({"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "40"},
         b'{"message":"Rate limit exceeded. Please try again later."}', 40.0),
    ],
)
def test_429_retry_after(headers, body, retry):
    err = P.error_for(FULL, result(429, body, headers), ctx())
    assert err.state is State.RATE_LIMITED
    assert err.info.retry_after_s == retry


def test_503_keeps_retry_after():
    err = P.error_for(FULL,
                      result(503, b"Circuit breaker open",
                             {"X-Error-Code": "CIRCUIT_BREAKER_OPEN", "Retry-After": "5"}), ctx())
    assert (err.state, err.info.retry_after_s) == (State.ERROR, 5.0)


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Content-Type": "text/html"}, b"<p>Bad gateway</p>"),
        ({}, b"<!DOCTYPE html><html><head><title>502</title></head><body>" + b"x" * 5000 + b"</body></html>"),
        ({}, b"  <html><body>cloudflare</body></html>"),
    ],
)
def test_html_body_is_never_shown(headers, body):
    err = P.error_for(FULL, result(502, body, headers), ctx())
    assert err.info.message == "HTTP 502 from provider (HTML page)"


def test_long_message_is_bounded_and_one_line():
    err = P.error_for(FULL, result(500, b"Boom\n\n" + b"y" * 5000, {}), ctx())
    assert len(err.info.message) <= 300
    assert "\n" not in err.info.message
    assert err.info.message.startswith("Boom y")


def test_key_echoed_in_message_is_masked():
    key = "rk_" + "0123456789abcdef" * 4
    err = P.error_for(FULL, result(401, f"Invalid API key {key}".encode(), {"X-Error-Code": "AUTHENTICATION_ERROR"}),
                      ctx())
    assert key not in err.info.message
    assert "0123456789" not in err.info.message


# -- kill ------------------------------------------------------------------------


def test_kill_request():
    assert P.kill_request() == RequestSpec("kill", "user/streams/kill", "POST")


@pytest.mark.parametrize(("body", "n"),
                         [({"killed_streams": 2}, 2), ({"killed_streams": 0}, 0), ({"killed_streams": 3.0}, 3)])
def test_parse_kill(body, n):
    assert P.parse_kill(result(body=body)) == n


@pytest.mark.parametrize(
    "body",
    [b"", b"nope", b"[]", b"{}", b'{"killed_streams": "2"}', b'{"killed_streams": -1}', b'{"killed_streams": 1.5}',
     b'{"killed_streams": true}', b'{"killed_streams": NaN}', b'{"killed_streams": 1e300}',
     b'{"killed_streams": null}'],
)
def test_parse_kill_malformed(body):
    with pytest.raises(ProviderError) as caught:
        P.parse_kill(result(body=body))
    assert caught.value.info.code == "MALFORMED_RESPONSE"
