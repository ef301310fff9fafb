"""The shared rate-limit header parser: every documented form, and garbage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from traywidget.providers.headers import (
    HeaderWindow,
    RateLimitInfo,
    parse_go_duration,
    parse_rate_limit_headers,
    parse_reset,
    parse_retry_after,
)

from .helpers import NOW


def window(info: RateLimitInfo, name: str) -> HeaderWindow:
    found = info.window(name)
    assert found is not None, f"no window {name!r} in {info.windows}"
    return found


# -- Retry-After -------------------------------------------------------------

RETRY_AFTER_TABLE = [
    ("0", 0.0),
    ("1", 1.0),
    ("30", 30.0),
    (" 120 ", 120.0),
    ("1.5", 1.5),
    ("86400", 86400.0),
    ("Wed, 05 Mar 2025 10:31:15 GMT", 60.0),  # HTTP date, 60 s ahead of NOW
    ("Wednesday, 05-Mar-25 10:31:15 GMT", 60.0),  # obsolete RFC 850 form
    ("Wed, 05 Mar 2025 10:00:00 GMT", 0.0),  # in the past → now
    ("-5", None),
    ("nan", None),
    ("NaN", None),
    ("inf", None),
    ("1e400", None),
    ("99999999999", None),  # absurd
    ("soon", None),
    ("", None),
    ("   ", None),
    ("12abc", None),
    ("0x10", None),
    ("Wed, 99 Foo 2025 99:99:99 GMT", None),
]


@pytest.mark.parametrize(("value", "expected"), RETRY_AFTER_TABLE)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, NOW) == expected


def test_parse_retry_after_non_string():
    assert parse_retry_after(None, NOW) is None
    assert parse_retry_after(30, NOW) is None  # type: ignore[arg-type]  # a wrong type on purpose


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "30"}, 30.0),
        ({"retry-after": "30"}, 30.0),
        ({"RETRY-AFTER": "30"}, 30.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250", "Retry-After": "1"}, 0.25),  # ms form is finer: wins
        ({"retry-after-ms": "junk", "Retry-After": "7"}, 7.0),  # bad ms falls back
        ({"Retry-After": "Wed, 05 Mar 2025 10:32:15 GMT"}, 120.0),
        ({"Retry-After": "garbage"}, None),
        ({}, None),
    ],
)
def test_retry_after_in_headers(headers, expected):
    assert parse_rate_limit_headers(headers, NOW).retry_after_s == expected


# -- Go durations --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("12ms", 0.012),
        ("1h2m3.5s", 3723.5),
        ("0", 0.0),
        ("0s", 0.0),
        ("500us", 0.0005),
        ("1.5h", 5400.0),
        ("", None),
        ("-1s", None),
        ("1x", None),
        ("s", None),
        ("1 s", None),
        (None, None),
    ],
)
def test_go_duration(value, seconds):
    got = parse_go_duration(value)
    if seconds is None:
        assert got is None
    else:
        assert got == pytest.approx(seconds)


# -- Reset by magnitude --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30", NOW + timedelta(seconds=30)),  # delta seconds
        ("0", NOW),
        (str(int((NOW + timedelta(seconds=90)).timestamp())), NOW + timedelta(seconds=90)),  # epoch s
        (str(int((NOW + timedelta(seconds=90)).timestamp() * 1000)), NOW + timedelta(seconds=90)),  # epoch ms
        ("Wed, 05 Mar 2025 10:31:15 GMT", NOW + timedelta(seconds=60)),  # HTTP date
        ("2025-03-05T10:31:15Z", NOW + timedelta(seconds=60)),  # RFC 3339
        ("6m0s", NOW + timedelta(minutes=6)),  # Go duration
        (str(int((NOW - timedelta(hours=1)).timestamp())), NOW),  # past epoch → already reset
        ("99999999", None),  # ~3 years of delta seconds: absurd
        ("99999999999", None),  # epoch seconds in year 5138
        ("-3", None),
        ("nan", None),
        ("tomorrow", None),
    ],
)
def test_parse_reset(value, expected):
    assert parse_reset(value, NOW) == expected


# -- Plain X-RateLimit-* -------------------------------------------------------


def test_plain_x_ratelimit_openrouter_429():
    reset_ms = int((NOW + timedelta(seconds=45)).timestamp() * 1000)
    info = parse_rate_limit_headers(
        {"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset_ms)}, NOW
    )
    assert window(info, "requests") == HeaderWindow("requests", 20.0, 0.0, NOW + timedelta(seconds=45))


def test_plain_x_ratelimit_delta_and_http_date():
    info = parse_rate_limit_headers({"x-ratelimit-limit": "600", "x-ratelimit-remaining": "599",
                                     "x-ratelimit-reset": "60"}, NOW)
    assert window(info, "requests") == HeaderWindow("requests", 600.0, 599.0, NOW + timedelta(seconds=60))
    info = parse_rate_limit_headers({"X-RateLimit-Reset": "Wed, 05 Mar 2025 10:31:15 GMT"}, NOW)
    assert window(info, "requests").resets_at == NOW + timedelta(seconds=60)


# -- Routeway minute/day -------------------------------------------------------


def test_routeway_minute_and_day_windows():
    info = parse_rate_limit_headers(
        {
            "Retry-After": "12",
            "X-RateLimit-Limit-Minute": "5",
            "X-RateLimit-Remaining-Minute": "0",
            "X-RateLimit-Reset-Minute": "12",
            "X-RateLimit-Limit-Day": "200",
            "X-RateLimit-Remaining-Day": "150",
            "X-RateLimit-Reset-Day": "48585",
        },
        NOW,
    )
    assert info.retry_after_s == 12.0
    assert window(info, "minute") == HeaderWindow("minute", 5.0, 0.0, NOW + timedelta(seconds=12))
    assert window(info, "day") == HeaderWindow("day", 200.0, 150.0, NOW + timedelta(seconds=48585))


# -- OpenAI ----------------------------------------------------------------------


def test_openai_windows():
    info = parse_rate_limit_headers(
        {
            "x-ratelimit-limit-requests": "60",
            "x-ratelimit-remaining-requests": "59",
            "x-ratelimit-reset-requests": "1s",
            "x-ratelimit-limit-tokens": "150000",
            "x-ratelimit-remaining-tokens": "149984",
            "x-ratelimit-reset-tokens": "6m0s",
        },
        NOW,
    )
    assert window(info, "requests") == HeaderWindow("requests", 60.0, 59.0, NOW + timedelta(seconds=1))
    assert window(info, "tokens") == HeaderWindow("tokens", 150000.0, 149984.0, NOW + timedelta(minutes=6))


def test_openai_ms_reset():
    info = parse_rate_limit_headers({"x-ratelimit-reset-requests": "12ms"}, NOW)
    assert window(info, "requests").resets_at == NOW + timedelta(milliseconds=12)


# -- Anthropic ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["requests", "tokens", "input-tokens", "output-tokens"])
def test_anthropic_windows(kind):
    info = parse_rate_limit_headers(
        {
            f"anthropic-ratelimit-{kind}-limit": "1000",
            f"anthropic-ratelimit-{kind}-remaining": "999",
            f"anthropic-ratelimit-{kind}-reset": "2025-03-05T10:31:15Z",
        },
        NOW,
    )
    assert window(info, kind) == HeaderWindow(kind, 1000.0, 999.0, NOW + timedelta(seconds=60))


# -- IETF ---------------------------------------------------------------------------


def test_ietf_policy_and_ratelimit():
    info = parse_rate_limit_headers(
        {
            "RateLimit-Policy": '"burst";q=100;w=60, "daily";q=1000;w=86400',
            "RateLimit": '"burst";r=50;t=30',
        },
        NOW,
    )
    assert window(info, "burst") == HeaderWindow("burst", 100.0, 50.0, NOW + timedelta(seconds=30))
    assert window(info, "daily") == HeaderWindow("daily", 1000.0, None, None)


def test_ietf_ratelimit_without_policy():
    info = parse_rate_limit_headers({"RateLimit": '"default";r=50;t=30'}, NOW)
    assert window(info, "default") == HeaderWindow("default", None, 50.0, NOW + timedelta(seconds=30))


def test_ietf_older_draft():
    info = parse_rate_limit_headers(
        {"RateLimit-Limit": "100", "RateLimit-Remaining": "7", "RateLimit-Reset": "20"}, NOW
    )
    assert window(info, "default") == HeaderWindow("default", 100.0, 7.0, NOW + timedelta(seconds=20))


@pytest.mark.parametrize(
    "headers",
    [
        {"RateLimit-Policy": '"burst;q=100'},
        {"RateLimit-Policy": ";;;,,,"},
        {"RateLimit": '"x";r=-1;t=nan'},
        {"RateLimit": "\"x\";r=abc"},
        {"X-RateLimit-Limit": "-1", "X-RateLimit-Remaining": "nan", "X-RateLimit-Reset": "never"},
        {"X-RateLimit-Limit-Minute": "inf", "X-RateLimit-Remaining-Minute": "1e400"},
        {"anthropic-ratelimit-requests-reset": "not a time"},
    ],
)
def test_malformed_fields_are_ignored(headers):
    info = parse_rate_limit_headers(headers, NOW)
    for w in info.windows:
        for value in (w.limit, w.remaining):
            assert value is None or value >= 0


def test_negative_and_nan_become_none():
    info = parse_rate_limit_headers({"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "-4"}, NOW)
    assert window(info, "requests") == HeaderWindow("requests", 100.0, None, None)


def test_case_insensitive_and_repeated_values():
    info = parse_rate_limit_headers({"x-RATELIMIT-limit-MINUTE": "5, 5", "X-RateLimit-Remaining-Minute": "3"}, NOW)
    assert window(info, "minute").limit == 5.0
    assert window(info, "minute").remaining == 3.0


def test_no_headers_no_windows():
    assert parse_rate_limit_headers({}, NOW) == RateLimitInfo()
    assert parse_rate_limit_headers({"Content-Type": "application/json"}, NOW) == RateLimitInfo()


def test_names_and_values_that_are_not_text_are_skipped():
    assert parse_rate_limit_headers({1: 2, "retry-after": 5}, NOW) == RateLimitInfo()  # type: ignore[dict-item]  # wrong key types on purpose
    assert parse_rate_limit_headers({b"Retry-After": b"7"}, NOW).retry_after_s == 7.0  # type: ignore[dict-item]  # wrong key types on purpose


def test_naive_now_is_utc():
    naive = NOW.replace(tzinfo=None)
    info = parse_rate_limit_headers({"X-RateLimit-Reset-Minute": "10", "X-RateLimit-Limit-Minute": "5"}, naive)
    assert window(info, "minute").resets_at == NOW + timedelta(seconds=10)
    assert window(info, "minute").resets_at.tzinfo is not None


def test_works_with_httpx_headers():
    import httpx

    info = parse_rate_limit_headers(httpx.Headers({"Retry-After": "3", "X-RateLimit-Remaining-Day": "9"}), NOW)
    assert info.retry_after_s == 3.0
    assert window(info, "day").remaining == 9.0


def test_dates_are_utc():
    info = parse_rate_limit_headers({"anthropic-ratelimit-requests-reset": "2025-03-05T12:31:15+02:00"}, NOW)
    assert window(info, "requests").resets_at == datetime(2025, 3, 5, 10, 31, 15, tzinfo=UTC)
