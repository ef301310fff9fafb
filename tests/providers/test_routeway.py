"""Routeway adapter: management-key polling, masked-key matching, headers, both 429 forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from traywidget.model import (
    BALANCE,
    REQUESTS_DAY,
    REQUESTS_MINUTE,
    ProviderError,
    State,
    Unit,
)
from traywidget.providers import get_provider
from traywidget.providers.base import Credential, KeyHint, RequestSpec
from traywidget.providers.routeway import (
    KEY_NOT_FOUND_MESSAGE,
    NO_MANAGEMENT_KEY_NOTE,
    Routeway,
    match_score,
)

from .helpers import NOW, assert_sane_meter, by_name, ctx, result, spec

P = Routeway()
KEYS = spec("account_keys", "account/keys")
BALANCE_SPEC = spec("balance", "account/balance")
MIDNIGHT = datetime(2025, 3, 6, tzinfo=UTC)

API_KEY = "sk-abc12345def67890wxyz"
HINT = KeyHint.of(API_KEY)  # prefix "sk-abc12", suffix "wxyz"


def row(key="sk-abc...wxyz", **overrides):
    data = {
        "api_key_id": 7,
        "key": key,
        "created_at": "2025-01-01T00:00:00Z",
        "label": "laptop",
        "daily_limit": 200,
        "minute_limit": 5,
        "balance": 1.5,
        "usage_today": 42,
        "usage_minute": 2,
        "last_used_at": "2025-03-05T10:29:00Z",
        "use_subs_first": True,
        "fallback_to_payg": False,
    }
    data.update(overrides)
    return data


def keys_body(*rows):
    return {"data": list(rows)}


def test_identity():
    assert (P.id, P.display_name, P.default_base_url, P.supports_kill) == (
        "routeway",
        "Routeway",
        "https://api.routeway.ai/v1",
        False,
    )
    assert P.kill_request() is None
    assert P.auth_headers("clsk-x") == {"Authorization": "Bearer clsk-x"}
    assert isinstance(get_provider("routeway"), Routeway)


def test_without_management_key_nothing_is_polled_and_a_note_says_why():
    assert P.poll_requests(False, ctx()) == []
    assert P.poll_requests(True, ctx()) == []
    assert P.notes(ctx()) == (NO_MANAGEMENT_KEY_NOTE,)
    assert "management key" in NO_MANAGEMENT_KEY_NOTE


def test_with_management_key():
    c = ctx(management=True, hint=HINT)
    keys = RequestSpec("account_keys", "account/keys", credential=Credential.MANAGEMENT)
    balance = RequestSpec("balance", "account/balance", credential=Credential.MANAGEMENT, optional=True)
    assert P.poll_requests(False, c) == [keys]
    assert P.poll_requests(True, c) == [keys, balance]
    assert P.notes(c) == ()


def test_documented_row():
    reading = P.parse(KEYS, result(body=keys_body(row())), ctx(management=True, hint=HINT))
    meters = by_name(reading.meters)
    minute, day = meters[REQUESTS_MINUTE], meters[REQUESTS_DAY]
    assert (minute.limit, minute.used, minute.remaining) == (5, 2, 3)
    assert minute.approximate_reset and minute.resets_at == NOW + timedelta(seconds=60)
    assert (day.limit, day.used, day.remaining) == (200, 42, 158)
    assert day.resets_at == MIDNIGHT
    assert reading.rate_limited is None
    for meter in reading.meters:
        assert_sane_meter(meter)


@pytest.mark.parametrize(
    ("limits", "expected_minute", "expected_day"),
    [
        ({"minute_limit": 0, "daily_limit": 0}, (None, None), (None, None)),
        ({"minute_limit": None, "daily_limit": None}, (None, None), (None, None)),
        ({"minute_limit": "5", "daily_limit": -1}, (None, None), (None, None)),
        ({"usage_minute": 9, "usage_today": 500}, (5, 0), (200, 0)),  # over the limit: 0, never negative
    ],
)
def test_no_cap_and_bad_limits(limits, expected_minute, expected_day):
    meters = by_name(P.parse(KEYS, result(body=keys_body(row(**limits))), ctx(management=True, hint=HINT)).meters)
    assert (meters[REQUESTS_MINUTE].limit, meters[REQUESTS_MINUTE].remaining) == expected_minute
    assert (meters[REQUESTS_DAY].limit, meters[REQUESTS_DAY].remaining) == expected_day


def test_missing_limit_fields_mean_no_cap():
    r = row()
    del r["minute_limit"], r["daily_limit"]
    meters = by_name(P.parse(KEYS, result(body=keys_body(r)), ctx(management=True, hint=HINT)).meters)
    assert meters[REQUESTS_MINUTE].limit is None and meters[REQUESTS_DAY].limit is None


# -- masked-key matching -------------------------------------------------------------

MASK_TABLE = [
    ("sk-abc...wxyz", True),
    ("sk-abc…wxyz", True),
    ("sk-abc12345def67890wxyz", True),  # not masked at all
    ("sk-abc1****wxyz", True),
    ("sk-abc12345d*******wxyz", True),  # more visible than the hint holds
    ("sk-a**...**yz", True),
    ("****wxyz", True),
    ("...xyz", True),
    ("  sk-abc...wxyz  ", True),
    ("sk-abd...wxyz", False),  # start differs
    ("sk-abc...wxyy", False),  # end differs
    ("clsk-12****cdef", False),
    ("sk-abc...", False),  # no visible end: cannot tell keys apart
    ("", False),
    ("****", False),
    (None, False),
    (123, False),
]


@pytest.mark.parametrize(("masked", "matches"), MASK_TABLE)
def test_match_score(masked, matches):
    assert (match_score(masked, HINT) is not None) == matches


@pytest.mark.parametrize(
    ("key", "masked"),
    [
        ("clsk-1234567890abcdef", "clsk-12****cdef"),
        ("rw-9f8e7d6c5b4a", "rw-9f...4a"),
        ("sk-abcdefghijklmnop", "sk-abc...mnop"),
    ],
)
def test_documented_prefixes_match(key, masked):
    assert match_score(masked, KeyHint.of(key)) is not None


def test_the_right_row_is_chosen_among_many():
    rows = [
        row(key="sk-zzz...wxyz", api_key_id=1, daily_limit=10),
        row(key="clsk-12****cdef", api_key_id=2, daily_limit=20),
        row(key="sk-abc...wxyz", api_key_id=3, daily_limit=300),
        "not a row",
        None,
    ]
    meters = by_name(P.parse(KEYS, result(body=keys_body(*rows)), ctx(management=True, hint=HINT)).meters)
    assert meters[REQUESTS_DAY].limit == 300


def test_longer_match_wins():
    rows = [row(key="sk-...wxyz", daily_limit=10), row(key="sk-abc1...wxyz", daily_limit=99)]
    meters = by_name(P.parse(KEYS, result(body=keys_body(*rows)), ctx(management=True, hint=HINT)).meters)
    assert meters[REQUESTS_DAY].limit == 99


def test_ambiguous_rows_are_an_error_not_a_guess():
    rows = [row(key="sk-abc...wxyz", daily_limit=10), row(key="sk-abc...wxyz", daily_limit=99)]
    with pytest.raises(ProviderError) as caught:
        P.parse(KEYS, result(body=keys_body(*rows)), ctx(management=True, hint=HINT))
    assert caught.value.state is State.ERROR


@pytest.mark.parametrize("rows", [[], [row(key="sk-other...abcd")], ["x", 1]])
def test_key_not_found(rows):
    with pytest.raises(ProviderError) as caught:
        P.parse(KEYS, result(body=keys_body(*rows)), ctx(management=True, hint=HINT))
    assert caught.value.state is State.AUTH_ERROR
    assert caught.value.info.message == KEY_NOT_FOUND_MESSAGE
    assert caught.value.info.code == "KEY_NOT_FOUND"


def test_without_hint_a_single_row_is_used():
    meters = by_name(P.parse(KEYS, result(body=keys_body(row())), ctx(management=True)).meters)
    assert meters[REQUESTS_DAY].limit == 200
    with pytest.raises(ProviderError):
        P.parse(KEYS, result(body=keys_body(row(), row(key="x...y"))), ctx(management=True))


def test_hint_repr_hides_key():
    assert "abc" not in repr(HINT)


@pytest.mark.parametrize("body", [b"", b"x", b"[]", b"{}", b'{"data": {}}', b'{"data": "x"}', b'{"data": null}'])
def test_keys_malformed(body):
    with pytest.raises(ProviderError) as caught:
        P.parse(KEYS, result(body=body), ctx(management=True, hint=HINT))
    assert caught.value.info.code == "MALFORMED_RESPONSE"


# -- headers on successful responses ----------------------------------------------------


def test_matching_headers_override_remaining_and_flag_rate_limited():
    headers = {
        "X-RateLimit-Limit-Minute": "5",
        "X-RateLimit-Remaining-Minute": "0",
        "X-RateLimit-Reset-Minute": "17",
        "X-RateLimit-Limit-Day": "200",
        "X-RateLimit-Remaining-Day": "150",
        "X-RateLimit-Reset-Day": "48585",
    }
    reading = P.parse(KEYS, result(body=keys_body(row()), headers=headers), ctx(management=True, hint=HINT))
    meters = by_name(reading.meters)
    assert meters[REQUESTS_MINUTE].remaining == 0
    assert meters[REQUESTS_MINUTE].resets_at == NOW + timedelta(seconds=17)
    assert not meters[REQUESTS_MINUTE].approximate_reset
    assert meters[REQUESTS_DAY].remaining == 150
    assert reading.rate_limited is not None
    assert reading.rate_limited.limit_kind == "minute"
    assert reading.rate_limited.retry_after_s == 17.0


def test_day_exhausted_in_headers_wins():
    headers = {
        "Retry-After": "600",
        "X-RateLimit-Limit-Minute": "5",
        "X-RateLimit-Remaining-Minute": "0",
        "X-RateLimit-Limit-Day": "200",
        "X-RateLimit-Remaining-Day": "0",
    }
    reading = P.parse(KEYS, result(body=keys_body(row()), headers=headers), ctx(management=True, hint=HINT))
    assert reading.rate_limited.limit_kind == "daily"
    assert reading.rate_limited.retry_after_s == 600.0


def test_headers_of_another_limit_are_ignored():
    # account/keys' own limit (60/min) must not be mistaken for the key's 5/min.
    headers = {"X-RateLimit-Limit-Minute": "60", "X-RateLimit-Remaining-Minute": "0"}
    reading = P.parse(KEYS, result(body=keys_body(row()), headers=headers), ctx(management=True, hint=HINT))
    assert by_name(reading.meters)[REQUESTS_MINUTE].remaining == 3
    assert reading.rate_limited is None


# -- balance ------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "balance"),
                         [({"balance": 4.2}, 4.2), ({"balance": 0}, 0.0), ({"balance": -1.5}, -1.5),
                          ({"data": {"balance": 3}}, 3.0)])
def test_balance(body, balance):
    (meter,) = P.parse(BALANCE_SPEC, result(body=body), ctx(management=True)).meters
    assert (meter.name, meter.unit, meter.limit, meter.remaining) == (BALANCE, Unit.USD, None, balance)


@pytest.mark.parametrize("body",
                         [b"{}", b'{"balance": "4.20"}', b'{"balance": NaN}', b'{"balance": null}', b"[]", b"4.2"])
def test_balance_malformed(body):
    with pytest.raises(ProviderError):
        P.parse(BALANCE_SPEC, result(body=body), ctx(management=True))


# -- errors -----------------------------------------------------------------------------------

NEW_429 = {
    "error": {
        "message": "API key per-minute rate limit exceeded (60 RPM).",
        "type": "rate_limit_error",
        "param": None,
        "code": "rate_limit_exceeded",
        "status_code": 429,
        "id": "b3fca8a1",
        "docs": "https://docs.routeway.ai",
        "support": "https://discord.gg/RjX2CpdPpd",
    }
}
OLD_429 = {"error": {"message": "Rate limit exceeded for free models.", "type": "error", "tip": "Wait a bit",
                     "code": 429}}


def rw_error(message, type_, code, **extra):
    return {"error": {"message": message, "type": type_, "code": code, **extra}}


@pytest.mark.parametrize(
    ("status", "body", "headers", "message", "code", "kind", "retry"),
    [
        (429, NEW_429, {"Retry-After": "12"}, "API key per-minute rate limit exceeded (60 RPM).", "rate_limit_exceeded",
         "minute", 12.0),
        (429, OLD_429, {"Retry-After": "30"}, "Rate limit exceeded for free models.", "429", None, 30.0),
        (429, OLD_429,
         {"X-RateLimit-Limit-Day": "200", "X-RateLimit-Remaining-Day": "0", "X-RateLimit-Reset-Day": "3600"},
         "Rate limit exceeded for free models.", "429", "daily", 3600.0),
        (429, OLD_429,
         {"X-RateLimit-Limit-Minute": "5", "X-RateLimit-Remaining-Minute": "0", "X-RateLimit-Reset-Minute": "40"},
         "Rate limit exceeded for free models.", "429", "minute", 40.0),
        (429, rw_error("Daily limit of 200 requests reached", "rate_limit_error", "rate_limit_exceeded"), {},
         "Daily limit of 200 requests reached", "rate_limit_exceeded", "daily", None),
        # a 200-ish status would not reach error_for; but a 400 whose body says 429 is still a rate limit
        (400, NEW_429, {}, "API key per-minute rate limit exceeded (60 RPM).", "rate_limit_exceeded", "minute", None),
    ],
)
def test_both_429_forms(status, body, headers, message, code, kind, retry):
    err = P.error_for(KEYS, result(status, body, headers), ctx(management=True, hint=HINT))
    assert err.state is State.RATE_LIMITED
    assert (err.info.message, err.info.code, err.info.limit_kind, err.info.retry_after_s) == (message, code, kind,
                                                                                              retry)


@pytest.mark.parametrize(
    ("status", "body", "state"),
    [
        (401, rw_error("Invalid API key", "authentication_error", 401), State.AUTH_ERROR),
        (403, rw_error("Management key required", "permission_error", "forbidden"), State.AUTH_ERROR),
        (400, rw_error("Key revoked", "authentication_error", "invalid_key"), State.AUTH_ERROR),
        (402, rw_error("Insufficient balance", "invalid_request_error", 402), State.PAYMENT_REQUIRED),
        (400, rw_error("Insufficient balance, please top up", "invalid_request_error", "insufficient_balance"),
         State.PAYMENT_REQUIRED),
        (403, rw_error("Insufficient balance", "permission_error", 403), State.PAYMENT_REQUIRED),
        (400, rw_error("Bad model", "invalid_request_error", "model_not_found", trace_id="t1"), State.ERROR),
        (500, rw_error("Internal error", "api_error", 500), State.ERROR),
        (502, rw_error("Upstream failed", "provider_error", "upstream_error"), State.ERROR),
        (404, rw_error("Not found", "invalid_request_error", 404), State.ERROR),
    ],
)
def test_other_errors(status, body, state):
    err = P.error_for(KEYS, result(status, body), ctx(management=True, hint=HINT))
    assert err.state is state
    assert err.info.message == body["error"]["message"]
    assert err.info.http_status == status


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (502, b"<html><body>Bad gateway</body></html>", "HTTP 502 from provider (HTML page)"),
        (503, b"", "HTTP 503 Service Unavailable from provider"),
        (500, b"oops", "oops"),
        (500, b'{"error": 5}', '{"error": 5}'),
    ],
)
def test_unstructured_errors(status, body, message):
    err = P.error_for(KEYS, result(status, body), ctx())
    assert (err.state, err.info.message) == (State.ERROR, message)
