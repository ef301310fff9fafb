"""OpenRouter adapter: key credits, free-model requests, credits balance, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from traywidget.model import (
    BALANCE,
    CREDITS,
    FREE_REQUESTS_DAY,
    ProviderError,
    State,
    Unit,
)
from traywidget.providers import get_provider
from traywidget.providers.base import Credential, RequestSpec
from traywidget.providers.openrouter import OpenRouter

from .helpers import NOW, assert_sane_meter, by_name, ctx, result, spec

P = OpenRouter()
KEY = spec("key", "key")
CREDITS_SPEC = spec("credits", "credits")

MIDNIGHT = datetime(2025, 3, 6, tzinfo=UTC)
NEXT_MONDAY = datetime(2025, 3, 10, tzinfo=UTC)  # NOW is Wednesday 2025-03-05
NEXT_MONTH = datetime(2025, 4, 1, tzinfo=UTC)


def key_body(**overrides):
    data = {
        "label": "my laptop",
        "limit": 10.0,
        "limit_reset": "monthly",
        "limit_remaining": 6.6,
        "include_byok_in_limit": False,
        "usage": 25.5,
        "usage_daily": 0.12,
        "usage_weekly": 1.2,
        "usage_monthly": 3.4,
        "byok_usage": 0,
        "byok_usage_daily": 0,
        "byok_usage_weekly": 0,
        "byok_usage_monthly": 0,
        "is_free_tier": False,
        "is_management_key": False,
        "expires_at": None,
        "free_model_daily_requests": {"limit": 1000, "remaining": 990, "used": 10},
        "rate_limit": {"requests": 10, "interval": "10s"},
    }
    data.update(overrides)
    return {"data": {k: v for k, v in data.items() if v is not ...}}


def test_identity():
    assert (P.id, P.display_name, P.default_base_url, P.supports_kill) == (
        "openrouter",
        "OpenRouter",
        "https://openrouter.ai/api/v1",
        False,
    )
    assert P.kill_request() is None
    assert isinstance(get_provider("openrouter"), OpenRouter)
    assert P.auth_headers("sk-or-v1-x") == {"Authorization": "Bearer sk-or-v1-x"}


@pytest.mark.parametrize(
    ("full", "management", "expected"),
    [
        (False, False, [RequestSpec("key", "key")]),
        (True, False, [RequestSpec("key", "key")]),
        (False, True, [RequestSpec("key", "key")]),
        (True, True,
         [RequestSpec("key", "key"),
          RequestSpec("credits", "credits", credential=Credential.MANAGEMENT, optional=True)]),
    ],
)
def test_poll_requests(full, management, expected):
    assert P.poll_requests(full, ctx(management=management)) == expected


def test_key_documented_fields():
    reading = P.parse(KEY, result(body=key_body()), ctx())
    meters = by_name(reading.meters)
    credits = meters[CREDITS]
    assert credits.unit is Unit.USD
    assert (credits.limit, credits.remaining, credits.used) == (10.0, 6.6, 3.4)
    assert credits.resets_at == NEXT_MONTH
    free = meters[FREE_REQUESTS_DAY]
    assert (free.limit, free.remaining, free.used, free.estimated) == (1000, 990, 10, False)
    assert free.resets_at == MIDNIGHT
    assert reading.plan == "Paid · my laptop"
    assert "Spent today $0.12 · week $1.20 · month $3.40" in reading.notes
    for meter in reading.meters:
        assert_sane_meter(meter)


@pytest.mark.parametrize(
    ("limit_reset", "used", "resets_at"),
    [
        ("daily", 0.12, MIDNIGHT),
        ("weekly", 1.2, NEXT_MONDAY),
        ("monthly", 3.4, NEXT_MONTH),
        ("DAILY", 0.12, MIDNIGHT),
        (None, 25.5, None),
        ("yearly", 25.5, None),  # unknown period: all-time usage, no reset time
    ],
)
def test_limit_reset_periods(limit_reset, used, resets_at):
    credits = by_name(P.parse(KEY, result(body=key_body(limit_reset=limit_reset)), ctx()).meters)[CREDITS]
    assert credits.used == used
    assert credits.resets_at == resets_at


def test_next_monday_from_a_monday_and_sunday():
    monday = datetime(2025, 3, 10, 8, tzinfo=UTC)
    sunday = datetime(2025, 3, 9, 23, 59, tzinfo=UTC)
    for now in (monday, sunday):
        credits = by_name(P.parse(KEY, result(body=key_body(limit_reset="weekly")), ctx(now=now)).meters)[CREDITS]
        assert credits.resets_at == (datetime(2025, 3, 17, tzinfo=UTC) if now is monday else NEXT_MONDAY)


def test_december_monthly_reset():
    now = datetime(2025, 12, 15, tzinfo=UTC)
    credits = by_name(P.parse(KEY, result(body=key_body()), ctx(now=now)).meters)[CREDITS]
    assert credits.resets_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_uncapped_key():
    reading = P.parse(KEY, result(body=key_body(limit=None, limit_remaining=None, limit_reset=None)), ctx())
    credits = by_name(reading.meters)[CREDITS]
    assert credits.limit is None and credits.remaining is None
    assert credits.used == 25.5
    assert not credits.capped


def test_remaining_computed_when_missing_and_clamped():
    body = key_body(limit=10.0, limit_reset=None, limit_remaining=None, usage=4.0)
    credits = by_name(P.parse(KEY, result(body=body), ctx()).meters)[CREDITS]
    assert credits.remaining == 6.0
    body = key_body(limit=10.0, limit_remaining=50.0)
    assert by_name(P.parse(KEY, result(body=body), ctx()).meters)[CREDITS].remaining == 10.0
    body = key_body(limit=10.0, limit_remaining=-2.0, limit_reset=None, usage=12.0)
    assert by_name(P.parse(KEY, result(body=body), ctx()).meters)[CREDITS].remaining == 0.0


@pytest.mark.parametrize(
    ("is_free_tier", "cap", "plan"),
    [(True, 50, "Free tier · my laptop"), (False, 1000, "Paid · my laptop"), (None, 50, "my laptop"),
     ("yes", 50, "my laptop")],
)
def test_absent_free_model_daily_requests_is_estimated(is_free_tier, cap, plan):
    body = key_body(is_free_tier=is_free_tier, free_model_daily_requests=...)
    reading = P.parse(KEY, result(body=body), ctx())
    free = by_name(reading.meters)[FREE_REQUESTS_DAY]
    assert free.estimated
    assert (free.limit, free.used, free.remaining) == (cap, None, None)
    assert free.resets_at == MIDNIGHT
    assert any("estimate" in note for note in reading.notes)
    assert reading.plan == plan


@pytest.mark.parametrize("value", [None, "lots", [], {}, {"limit": "x", "remaining": None}])
def test_unusable_free_model_daily_requests_is_estimated(value):
    free = by_name(P.parse(KEY, result(body=key_body(free_model_daily_requests=value)),
                           ctx()).meters)[FREE_REQUESTS_DAY]
    assert free.estimated


def test_free_requests_remaining_computed():
    body = key_body(free_model_daily_requests={"limit": 50, "used": 60})
    free = by_name(P.parse(KEY, result(body=body), ctx()).meters)[FREE_REQUESTS_DAY]
    assert (free.limit, free.used, free.remaining, free.estimated) == (50, 60, 0, False)


def test_default_masked_label_is_not_a_plan():
    reading = P.parse(KEY, result(body=key_body(label="sk-or-v1-0e6...1c9", is_free_tier=True)), ctx())
    assert reading.plan == "Free tier"


def test_no_spend_note_without_usage_fields():
    body = key_body(usage_daily=..., usage_weekly=..., usage_monthly=...)
    reading = P.parse(KEY, result(body=body), ctx())
    assert not any(n.startswith("Spent") for n in reading.notes)


def test_tiny_spend_is_shown():
    reading = P.parse(KEY, result(body=key_body(usage_daily=0.0004)), ctx())
    assert any("today $0.0004" in n for n in reading.notes)


@pytest.mark.parametrize(
    ("expires_at", "note"),
    [
        ((NOW - timedelta(days=1)).isoformat(), "This key has expired."),
        ((NOW + timedelta(days=2)).isoformat(), "This key expires 2025-03-07 10:30 UTC."),
        ((NOW + timedelta(days=60)).isoformat(), None),
        ("garbage", None),
        (12345, None),
    ],
)
def test_expiry_notes(expires_at, note):
    notes = P.parse(KEY, result(body=key_body(expires_at=expires_at)), ctx()).notes
    expiry = [n for n in notes if "expire" in n]
    assert expiry == ([note] if note else [])


def test_deprecated_rate_limit_is_ignored():
    a = P.parse(KEY, result(body=key_body(rate_limit={"requests": 1, "interval": "1s"})), ctx())
    b = P.parse(KEY, result(body=key_body(rate_limit=...)), ctx())
    assert a == b


@pytest.mark.parametrize(
    "body",
    [b"", b"nope", b"[]", b"{}", b'{"data": null}', b'{"data": []}', b'{"data": "x"}', b'{"error": {"message": "x"}}'],
)
@pytest.mark.parametrize("which", [KEY, CREDITS_SPEC])
def test_malformed(body, which):
    with pytest.raises(ProviderError) as caught:
        P.parse(which, result(body=body), ctx())
    assert caught.value.info.code == "MALFORMED_RESPONSE"


# -- credits -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "usage", "balance"),
    [(20.0, 5.5, 14.5), (10, 10, 0.0), (5.0, 7.25, -2.25)],
)
def test_credits_balance(total, usage, balance):
    reading = P.parse(CREDITS_SPEC, result(body={"data": {"total_credits": total, "total_usage": usage}}),
                      ctx(management=True))
    (meter,) = reading.meters
    assert (meter.name, meter.unit, meter.limit) == (BALANCE, Unit.USD, None)
    assert meter.remaining == pytest.approx(balance)


@pytest.mark.parametrize(
    "data",
    [{}, {"total_credits": 1}, {"total_usage": 1}, {"total_credits": "1", "total_usage": 0},
     {"total_credits": float("inf"), "total_usage": 0}],
)
def test_credits_missing_fields(data):
    with pytest.raises(ProviderError):
        P.parse(CREDITS_SPEC, result(body={"data": data}), ctx())


# -- errors ------------------------------------------------------------------------


def or_error(code, message, **metadata):
    error = {"code": code, "message": message}
    if metadata:
        error["metadata"] = metadata
    return {"error": error}


ERRORS = [
    (401, or_error(401, "No auth credentials found"), State.AUTH_ERROR, "No auth credentials found", None),
    (401, or_error(401, "User not found."), State.AUTH_ERROR, "User not found.", None),
    (402, or_error(402, "Insufficient credits. Add more using https://openrouter.ai/credits"), State.PAYMENT_REQUIRED,
     "Insufficient credits. Add more using https://openrouter.ai/credits", None),
    (403, or_error(403, "Only management keys can perform this operation"), State.AUTH_ERROR,
     "Only management keys can perform this operation", None),
    (429, or_error(429, "Rate limit exceeded", error_type="rate_limit_exceeded"), State.RATE_LIMITED,
     "Rate limit exceeded",
     "rate_limit_exceeded"),
    (500, or_error(500, "Internal Server Error"), State.ERROR, "Internal Server Error", None),
    (502, or_error(502, "Provider returned error", error_type="provider_error"), State.ERROR, "Provider returned error",
     "provider_error"),
    (503, or_error(503, "Service unavailable"), State.ERROR, "Service unavailable", None),
    (400, or_error(400, "Invalid model"), State.ERROR, "Invalid model", None),
    # a status that says nothing: the body's code does
    (400, or_error(402, "Negative balance"), State.PAYMENT_REQUIRED, "Negative balance", None),
    (408, {"error": {"message": "Timeout", "code": "timeout"}}, State.ERROR, "Timeout", "timeout"),
]


@pytest.mark.parametrize(("status", "body", "state", "message", "code"), ERRORS)
def test_error_table(status, body, state, message, code):
    err = P.error_for(KEY, result(status, body), ctx())
    assert (err.state, err.info.message, err.info.code, err.info.http_status) == (state, message, code, status)


@pytest.mark.parametrize(
    ("headers", "retry"),
    [
        ({"Retry-After": "20"}, 20.0),
        ({"retry-after": "Wed, 05 Mar 2025 10:31:15 GMT"}, 60.0),
        ({"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0",
          "X-RateLimit-Reset": str(int((NOW + timedelta(seconds=30)).timestamp() * 1000))}, 30.0),
        ({"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0",
          "X-RateLimit-Reset": str(int((NOW + timedelta(seconds=30)).timestamp()))}, 30.0),
        ({"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "3", "X-RateLimit-Reset": "30"}, None),
        ({"Retry-After": "junk"}, None),
        ({}, None),
    ],
)
def test_429_retry(headers, retry):
    err = P.error_for(KEY, result(429, or_error(429, "Rate limit exceeded"), headers), ctx())
    assert err.state is State.RATE_LIMITED
    assert err.info.retry_after_s == retry


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 free model requests per day",
         "daily"),
        ("Rate limit exceeded: free-models-per-min.", "minute"),
        ("Rate limit exceeded", None),
    ],
)
def test_429_limit_kind(message, kind):
    assert P.error_for(KEY, result(429, or_error(429, message)), ctx()).info.limit_kind == kind


def test_503_retry_after():
    err = P.error_for(KEY, result(503, or_error(503, "Overloaded"), {"Retry-After": "3"}), ctx())
    assert (err.state, err.info.retry_after_s) == (State.ERROR, 3.0)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "HTTP 502 Bad Gateway from provider"),
        (b"<html><body>Cloudflare</body></html>", "HTTP 502 from provider (HTML page)"),
        (b"upstream connect error", "upstream connect error"),
        (b'{"message": "plain json"}', "plain json"),
        (b'{"error": "just a string"}', "{\"error\": \"just a string\"}"),
    ],
)
def test_non_standard_error_bodies(body, message):
    assert P.error_for(KEY, result(502, body), ctx()).info.message == message
