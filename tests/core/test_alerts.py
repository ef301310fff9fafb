"""AlertPolicy: exact notification counts over long runs — no storms."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from traywidget.core import alerts as A
from traywidget.core.alerts import AlertPolicy, kill_summary
from traywidget.core.formatting import format_duration
from traywidget.model import (
    CREDITS,
    REQUESTS_HOUR,
    ErrorInfo,
    KillResult,
    Meter,
    Snapshot,
    State,
    Thresholds,
    Unit,
)

T0 = datetime(2025, 5, 1, 12, 0, tzinfo=timezone.utc)


def snap(state=State.OK, remaining=500.0, limit=500.0, resets_at=None, error=None, stale=False,
         account="acct", unit=Unit.REQUESTS, name=REQUESTS_HOUR):
    meters = () if remaining is False else (
        Meter(name=name, unit=unit, limit=limit, remaining=remaining, resets_at=resets_at),
    )
    return Snapshot(account_id=account, provider="routing.run", label="Main", state=state,
                    meters=meters, error=error, stale=stale)


def kinds(alerts):
    return Counter(a.kind for a in alerts)


def test_hour_of_snapshots_no_storm():
    """One hour at 10 s cadence: falling counter, a 429 episode, 30 min of auth errors."""
    policy = AlertPolicy(Thresholds((0.20, 0.05)), auth_repeat_s=3600)
    out: list[A.Alert] = []
    reset = T0 + timedelta(hours=1)
    for i in range(360):  # 0..59:50
        now = T0 + timedelta(seconds=10 * i)
        if i < 120:
            # 20 minutes: remaining falls 500 -> 2 (crosses 20 % and 5 %, then 0)
            remaining = max(0.0, 500 - i * 4.2)
            state = State.EXHAUSTED if remaining == 0 else State.OK
            s = snap(state, remaining, 500, reset)
        elif i < 150:
            # 5 minutes of 429s (30 polls, one episode) with a network blip in the middle
            if i == 135:
                s = snap(State.OFFLINE, remaining=False)
            else:
                s = snap(State.RATE_LIMITED, 0.0, 500, reset,
                         error=ErrorInfo("Hourly limit reached", 429, retry_after_s=1200, limit_kind="hourly"))
        elif i < 180:
            # window reset: fresh hour, quota restored
            s = snap(State.OK, 500.0, 500, reset + timedelta(hours=1))
        else:
            # 30 minutes of auth errors
            s = snap(State.AUTH_ERROR, remaining=False, error=ErrorInfo("Invalid API key", 401))
        out += policy.update(s, now)
        # the cache replays stale data now and then: never alerts
        out += policy.update(snap(State.EXHAUSTED, 0, 500, stale=True), now)

    assert kinds(out) == Counter({
        A.THRESHOLD: 2,  # 20 % and 5 %
        A.EXHAUSTED: 1,
        A.RATE_LIMITED: 1,
        A.RESTORED: 1,
        A.AUTH_ERROR: 1,  # first occurrence only within the hour
    })
    rl = next(a for a in out if a.kind == A.RATE_LIMITED)
    assert "hourly limit" in rl.title.lower() and "429" in rl.title
    assert "Resets in" in rl.body


def test_auth_error_repeats_at_most_once_per_interval():
    policy = AlertPolicy(auth_repeat_s=3600)
    out = []
    for i in range(3 * 360 + 1):  # 3 hours at 10 s
        out += policy.update(snap(State.AUTH_ERROR, remaining=False), T0 + timedelta(seconds=10 * i))
    assert len(out) == 4  # t=0, 1h, 2h, 3h


def test_payment_required_kind():
    out = AlertPolicy().update(snap(State.PAYMENT_REQUIRED, remaining=False,
                                    error=ErrorInfo("Insufficient credits", 402)), T0)
    assert [a.kind for a in out] == [A.PAYMENT_REQUIRED]
    assert out[0].body == "Insufficient credits"


def test_threshold_rearms_when_remaining_rises():
    policy = AlertPolicy()
    seq = [100, 15, 10, 100, 18, 100, 3]
    out = []
    for i, r in enumerate(seq):
        out += policy.update(snap(remaining=float(r), limit=100.0), T0 + timedelta(seconds=i))
    assert [a.kind for a in out] == [A.THRESHOLD] * 3
    # the jump 100 -> 3 says only the lowest level crossed
    assert "5%" in out[-1].title


def test_threshold_rearms_on_window_reset():
    policy = AlertPolicy(Thresholds((0.5,)))
    r1 = T0 + timedelta(minutes=30)
    out = policy.update(snap(remaining=40.0, limit=100.0, resets_at=r1), T0)
    out += policy.update(snap(remaining=40.0, limit=100.0, resets_at=r1), T0 + timedelta(seconds=10))
    assert len(out) == 1
    # new window but already below again (e.g. heavy use right at reset)
    out += policy.update(snap(remaining=45.0, limit=100.0, resets_at=r1 + timedelta(hours=1)),
                         T0 + timedelta(minutes=31))
    assert len(out) == 2


def test_429_episode_once_then_new_episode():
    policy = AlertPolicy()
    rl = snap(State.RATE_LIMITED, remaining=False, error=ErrorInfo("slow down", 429, retry_after_s=30))
    out = []
    for i in range(10):
        out += policy.update(rl, T0 + timedelta(seconds=10 * i))
    out += policy.update(snap(State.OK, 300.0), T0 + timedelta(seconds=200))
    for i in range(5):
        out += policy.update(rl, T0 + timedelta(seconds=300 + 10 * i))
    assert [a.kind for a in out] == [A.RATE_LIMITED, A.RESTORED, A.RATE_LIMITED]
    assert "Retry in 30 s" in out[0].body


def test_concurrent_streams_429_title():
    out = AlertPolicy().update(
        snap(State.RATE_LIMITED, error=ErrorInfo("Too many streams", 429, limit_kind="concurrent_streams")), T0)
    assert "concurrent-stream limit" in out[0].title


def test_stale_never_alerts_and_does_not_change_memory():
    policy = AlertPolicy()
    assert policy.update(snap(State.EXHAUSTED, 0.0, stale=True), T0) == []
    assert policy.update(snap(State.AUTH_ERROR, remaining=False, stale=True), T0) == []
    # first live data at 10 %: one threshold alert, no "restored"
    out = policy.update(snap(State.LOW, 50.0, 500.0), T0)
    assert [a.kind for a in out] == [A.THRESHOLD]


def test_usd_capped_credits_running_low():
    policy = AlertPolicy()
    out = []
    for i, r in enumerate([10.0, 5.0, 1.5, 0.4, 0.0, 0.0]):
        out += policy.update(snap(remaining=r, limit=10.0, unit=Unit.USD, name=CREDITS), T0 + timedelta(seconds=i))
    assert [a.kind for a in out] == [A.THRESHOLD, A.THRESHOLD, A.EXHAUSTED]
    assert "credits running low" in out[0].title
    assert "$1.50" in out[0].body


def test_usd_uncapped_balance_low():
    policy = AlertPolicy(low_usd=1.0)
    out = []
    for i, r in enumerate([5.0, 0.9, 0.8, 3.0, 0.5, -0.2]):
        out += policy.update(snap(remaining=r, limit=None, unit=Unit.USD, name="balance"), T0 + timedelta(seconds=i))
    assert [a.kind for a in out] == [A.THRESHOLD, A.THRESHOLD, A.EXHAUSTED]


def test_offline_blips_do_not_end_episode_or_alert():
    policy = AlertPolicy()
    out = []
    for i in range(20):
        s = snap(State.OFFLINE if i % 2 else State.RATE_LIMITED, remaining=False)
        out += policy.update(s, T0 + timedelta(seconds=i * 10))
    assert [a.kind for a in out] == [A.RATE_LIMITED]


def test_accounts_are_independent():
    policy = AlertPolicy()
    out = policy.update(snap(State.AUTH_ERROR, remaining=False, account="a"), T0)
    out += policy.update(snap(State.AUTH_ERROR, remaining=False, account="b"), T0)
    assert len(out) == 2


@pytest.mark.parametrize("seconds,text", [
    (0, "0 s"), (45, "45 s"), (60, "1 min"), (61, "2 min"), (23 * 60, "23 min"),
    (3600, "1 h"), (3600 + 5 * 60, "1 h 5 min"), (50 * 3600, "2 d 2 h"),
])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_kill_summary_names_unsupported_accounts():
    alert = kill_summary(
        [KillResult("a", True, 3), KillResult("b", True, 1), KillResult("c", False)],
        {"a": "Main", "b": "Backup", "c": "OpenRouter"},
    )
    assert alert.title == "Stopped 4 streams on 2 accounts"
    assert "OpenRouter" in alert.body and "Cannot stop" in alert.body
    one = kill_summary([KillResult("a", True, 1)], {"a": "Main"})
    assert one.title == "Stopped 1 stream on 1 account"
