"""How readings age (present/freshness.py), with a fake clock: exact meters, states and moments."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from traywidget.model import (
    BALANCE,
    CREDITS,
    REQUESTS_DAY,
    REQUESTS_MINUTE,
    TOKENS_WINDOW,
    ErrorInfo,
    Freshness,
    Meter,
    Snapshot,
    Source,
    State,
    Unit,
)
from traywidget.present.freshness import (
    account_reading,
    at,
    meter_at,
    next_change,
    rate_limit_ends,
    read_at,
)

T0 = datetime(2026, 12, 7, 13, 14, 0, tzinfo=UTC)


def seconds(n: float) -> datetime:
    return T0 + timedelta(seconds=n)


def minute(remaining: float, resets_in: float = 20, seen: datetime = T0) -> Meter:
    return Meter(REQUESTS_MINUTE, Unit.REQUESTS, used=20 - remaining, limit=20, remaining=remaining,
                 resets_at=seen + timedelta(seconds=resets_in), source=Source.TRAFFIC, seen_at=seen)


def day(remaining: float) -> Meter:
    return Meter(REQUESTS_DAY, Unit.REQUESTS, used=1000 - remaining, limit=1000, remaining=remaining,
                 resets_at=seconds(10 * 3600), seen_at=T0)


def account(state: State, *meters: Meter, error: ErrorInfo | None = None, fetched_at: datetime = T0) -> Snapshot:
    return Snapshot("or", "openrouter", "OpenRouter", state, meters=meters, error=error, fetched_at=fetched_at)


def test_a_window_is_itself_until_its_reset_then_refilled_as_an_estimate():
    spent = minute(0)
    assert meter_at(spent, seconds(19.999)) is spent
    assert meter_at(spent, seconds(20)) == replace(spent, used=0, remaining=20, resets_at=None,
                                                   freshness=Freshness.REFILLED)


def test_token_windows_refill_and_money_becomes_unknown():
    tokens = Meter(TOKENS_WINDOW, Unit.TOKENS, used=5000.5, limit=6000.5, remaining=1000, resets_at=seconds(3),
                   source=Source.TRAFFIC, seen_at=T0)
    assert meter_at(tokens, seconds(3)) == replace(tokens, used=0, remaining=6000.5, resets_at=None,
                                                   freshness=Freshness.REFILLED)
    credits = Meter(CREDITS, Unit.USD, used=9.5, limit=10, remaining=0.5, resets_at=seconds(60), seen_at=T0)
    assert meter_at(credits, seconds(61)) == replace(credits, used=None, remaining=None, resets_at=None,
                                                     freshness=Freshness.EXPIRED)
    balance = Meter(BALANCE, Unit.USD, remaining=3.0, seen_at=T0)  # no reset: it stays as read
    assert meter_at(balance, seconds(10**6)) is balance


def test_an_uncapped_count_refills_to_none_used_and_an_uncapped_remaining_is_not_guessed():
    used = Meter("requests_hour", Unit.REQUESTS, used=120, resets_at=seconds(5), seen_at=T0)
    assert meter_at(used, seconds(5)) == replace(used, used=0, resets_at=None, freshness=Freshness.REFILLED)
    odd = Meter("requests", Unit.REQUESTS, remaining=7, resets_at=seconds(5), seen_at=T0)
    assert meter_at(odd, seconds(5)).freshness is Freshness.EXPIRED and meter_at(odd, seconds(5)).remaining is None


def test_the_account_after_a_burst_reads_ok_at_the_reset_and_not_a_moment_before():
    burst = account(State.EXHAUSTED, minute(0), day(900))
    assert at(burst, seconds(19.9)) is burst
    after = at(burst, seconds(20))
    assert after.state is State.OK
    assert after.meters == (replace(minute(0), used=0, remaining=20, resets_at=None, freshness=Freshness.REFILLED),
                            day(900))
    assert at(after, seconds(3600)) is after  # nothing more to age until the day resets


def test_a_429_with_retry_after_ends_then_whatever_the_windows_say():
    limited = account(State.RATE_LIMITED, minute(0, resets_in=50), day(900), fetched_at=seconds(5),
                      error=ErrorInfo("Rate limit exceeded", 429, retry_after_s=12.5))
    assert rate_limit_ends(limited) == seconds(17.5)
    assert at(limited, seconds(17.4)) is limited
    ended = at(limited, seconds(17.5))
    # the minute window still says 0 until its own reset: refused, but no longer by the 429
    assert (ended.state, ended.error) == (State.EXHAUSTED, None)
    assert at(ended, seconds(50)).state is State.OK


def test_a_429_without_retry_after_ends_at_the_reset_of_the_window_it_names_or_left_at_zero():
    named = account(State.RATE_LIMITED, minute(3, resets_in=40), fetched_at=seconds(1),
                    error=ErrorInfo("Per-minute limit", 429, limit_kind="minute"))
    assert rate_limit_ends(named) == seconds(40)
    at_zero = account(State.RATE_LIMITED, minute(0, resets_in=30), day(900), fetched_at=seconds(1),
                      error=ErrorInfo("Too many requests", 429))
    assert rate_limit_ends(at_zero) == seconds(30)
    assert at(at_zero, seconds(30)).state is State.OK


def test_a_429_that_never_said_when_holds_until_the_next_reading():
    silent = account(State.RATE_LIMITED, day(900), fetched_at=seconds(1), error=ErrorInfo("Too many requests", 429))
    assert rate_limit_ends(silent) is None
    assert at(silent, seconds(86400 * 2)).state is State.RATE_LIMITED
    assert next_change([silent], seconds(2)) == day(900).resets_at


def test_next_change_is_the_first_reset_or_end_after_now():
    a = account(State.OK, minute(5, resets_in=20), day(900))
    b = account(State.RATE_LIMITED, day(900), fetched_at=T0, error=ErrorInfo("x", 429, retry_after_s=8))
    assert next_change([a, b], T0) == seconds(8)
    assert next_change([a, b], seconds(8)) == seconds(20)
    assert next_change([at(a, seconds(20))], seconds(20)) == day(900).resets_at
    assert next_change([account(State.OK)], T0) is None


def test_the_age_of_an_account_is_its_headline_readings():
    traffic_only = account(State.OK, minute(5, seen=seconds(-120)))
    assert account_reading(traffic_only) == (seconds(-120), Source.TRAFFIC)
    polled = account(State.OK, day(900))
    assert account_reading(polled) == (T0, Source.POLL)
    assert account_reading(account(State.OK, fetched_at=seconds(3))) == (seconds(3), Source.POLL)
    # a meter from an old cache says nothing: read at the fetch, unless the fetch failed
    old = Meter(REQUESTS_DAY, Unit.REQUESTS, limit=1000, remaining=5)
    assert read_at(account(State.OK, old, fetched_at=seconds(9)), old) == seconds(9)
    assert read_at(account(State.OFFLINE, old, fetched_at=seconds(9)), old) is None
