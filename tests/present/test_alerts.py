"""AlertPolicy: exact notification counts over long runs — no storms."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from traywidget.model import (
    CREDITS,
    REQUESTS_HOUR,
    REQUESTS_MINUTE,
    ErrorInfo,
    KillResult,
    Meter,
    Snapshot,
    State,
    Thresholds,
    Unit,
)
from traywidget.present import alerts
from traywidget.present.alerts import AlertPolicy, kill_summary
from traywidget.present.formatting import format_duration

T0 = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def utc_local_clock(monkeypatch):
    """Reset times are said on the local clock: pin it, so the texts are exact."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


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
    """One hour at 10 s cadence: falling counter, a 429 episode on the used-up window, the reset,
    30 min of auth errors."""
    policy = AlertPolicy(Thresholds((0.20, 0.05)), auth_repeat_s=3600)
    out: list[alerts.Alert] = []
    reset = T0 + timedelta(hours=1)
    for i in range(360):  # 0..59:50
        now = T0 + timedelta(seconds=10 * i)
        if i < 120:
            # 20 minutes: remaining falls 500 -> 2 (crosses 20 % and 5 %, then 0)
            remaining = max(0.0, 500 - i * 4.2)
            state = State.EXHAUSTED if remaining == 0 else State.OK
            s = snap(state, remaining, 500, reset)
        elif i < 150:
            # 5 minutes of 429s on that used-up window (30 polls, one episode) with a network blip
            if i == 135:
                s = snap(State.OFFLINE, remaining=False)
            else:
                s = snap(State.RATE_LIMITED, 0.0, 500, reset,
                         error=ErrorInfo("Hourly limit reached", 429, retry_after_s=1200, limit_kind="hourly"))
        elif i < 180:
            # window reset: fresh hour, requests go through again
            s = snap(State.OK, 500.0, 500, reset + timedelta(hours=1))
        else:
            # 30 minutes of auth errors
            s = snap(State.AUTH_ERROR, remaining=False, error=ErrorInfo("Invalid API key", 401))
        out += policy.update(s, now)
        # the cache replays stale data now and then: never alerts
        out += policy.update(snap(State.EXHAUSTED, 0, 500, stale=True), now)

    assert kinds(out) == Counter({
        alerts.THRESHOLD: 2,  # 20 % and 5 %
        alerts.EXHAUSTED: 1,  # the 429s on the window the user was told is used up are no news
        alerts.RESTORED: 1,
        alerts.AUTH_ERROR: 1,  # first occurrence only within the hour
    })
    exhausted = next(a for a in out if a.kind == alerts.EXHAUSTED)
    assert exhausted.title == "Main: 0 requests left this hour"
    assert exhausted.body.startswith("Requests are refused until the window resets. Resets ")
    restored = next(a for a in out if a.kind == alerts.RESTORED)
    assert (restored.title, restored.body) == ("Main: requests go through again", "500 requests left this hour.")


def test_auth_error_repeats_at_most_once_per_interval():
    policy = AlertPolicy(auth_repeat_s=3600)
    out = []
    for i in range(3 * 360 + 1):  # 3 hours at 10 s
        out += policy.update(snap(State.AUTH_ERROR, remaining=False), T0 + timedelta(seconds=10 * i))
    assert len(out) == 4  # t=0, 1h, 2h, 3h
    assert out[0].title == "Main: key rejected"


def test_payment_required_kind():
    out = AlertPolicy().update(snap(State.PAYMENT_REQUIRED, remaining=False,
                                    error=ErrorInfo("Insufficient credits", 402)), T0)
    assert [(a.kind, a.title, a.body) for a in out] == [
        (alerts.PAYMENT_REQUIRED, "Main: payment required", "Insufficient credits")]


def test_a_firewall_block_is_told_like_a_rejected_key_but_never_called_one():
    block = ErrorInfo("Blocked by the provider's firewall (Cloudflare 1010): it rejected this client, not the key.",
                      403, "cloudflare_1010")
    policy = AlertPolicy(auth_repeat_s=3600)
    out = policy.update(snap(State.BLOCKED, remaining=False, error=block), T0)
    out += policy.update(snap(State.BLOCKED, remaining=False, error=block), T0 + timedelta(minutes=30))
    assert [(a.kind, a.title, a.body) for a in out] == [
        (alerts.BLOCKED, "Main: blocked by the provider's firewall", block.message)]


def test_no_key_is_the_badge_s_business_not_a_notification():
    assert AlertPolicy().update(snap(State.NO_KEY, remaining=False), T0) == []


def test_threshold_rearms_when_remaining_rises_but_speaks_once_an_hour_per_level():
    policy = AlertPolicy()
    seq = [100, 15, 10, 100, 18, 100, 3]
    out = []
    for i, r in enumerate(seq):
        out += policy.update(snap(remaining=float(r), limit=100.0), T0 + timedelta(seconds=i))
    # 15: the 20 % level; 18 (re-armed by 100) is the same level within the hour; 3: only the 5 % level
    assert [(a.kind, a.title, a.body) for a in out] == [
        (alerts.THRESHOLD, "Main: 15 requests left this hour", "15 of 100 requests left this hour (15%)."),
        (alerts.THRESHOLD, "Main: 3 requests left this hour", "3 of 100 requests left this hour (3%)."),
    ]
    # an hour later the 20 % level may speak again
    out = policy.update(snap(remaining=100.0, limit=100.0), T0 + timedelta(minutes=61))
    out += policy.update(snap(remaining=19.0, limit=100.0), T0 + timedelta(minutes=62))
    assert [a.title for a in out] == ["Main: 19 requests left this hour"]


def test_threshold_rearms_on_window_reset_at_most_once_an_hour():
    policy = AlertPolicy(Thresholds((0.5,)))
    r1 = T0 + timedelta(minutes=30)
    out = policy.update(snap(remaining=40.0, limit=100.0, resets_at=r1), T0)
    out += policy.update(snap(remaining=40.0, limit=100.0, resets_at=r1), T0 + timedelta(seconds=10))
    assert len(out) == 1
    # a new window, already below again (heavy use right at the reset): within the hour, nothing
    out += policy.update(snap(remaining=45.0, limit=100.0, resets_at=r1 + timedelta(hours=1)),
                         T0 + timedelta(minutes=31))
    assert len(out) == 1
    # the window after that: an hour has passed since the first, so it speaks
    out += policy.update(snap(remaining=45.0, limit=100.0, resets_at=r1 + timedelta(hours=2)),
                         T0 + timedelta(minutes=91))
    assert len(out) == 2


def test_429_episode_once_restored_after_it_lasted_then_quiet_for_the_hour():
    policy = AlertPolicy()
    rl = snap(State.RATE_LIMITED, remaining=False, error=ErrorInfo("slow down", 429, retry_after_s=30))
    out = []
    for i in range(10):
        out += policy.update(rl, T0 + timedelta(seconds=10 * i))
    out += policy.update(snap(State.OK, 300.0), T0 + timedelta(seconds=200))
    for i in range(5):
        out += policy.update(rl, T0 + timedelta(seconds=300 + 10 * i))
    out += policy.update(snap(State.OK, 300.0), T0 + timedelta(seconds=600))
    # the second episode comes within the hour: neither it nor its end is news
    assert [a.kind for a in out] == [alerts.RATE_LIMITED, alerts.RESTORED]
    assert (out[0].title, out[0].body) == ("Main: rate limited (429)", "slow down. Retry in 30 s.")
    # an hour after the first, a new episode speaks again
    later = policy.update(rl, T0 + timedelta(minutes=61))
    assert [a.kind for a in later] == [alerts.RATE_LIMITED]


def test_a_short_refusal_has_no_restored_notice():
    policy = AlertPolicy()
    rl = snap(State.RATE_LIMITED, remaining=False, error=ErrorInfo("Too many", 429, limit_kind="hourly"))
    out = policy.update(rl, T0)
    out += policy.update(snap(State.OK, 300.0), T0 + timedelta(seconds=alerts.RESTORE_AFTER_S - 1))
    assert [a.kind for a in out] == [alerts.RATE_LIMITED]


def test_per_minute_windows_raise_no_threshold_or_exhausted_alerts():
    policy = AlertPolicy()
    out = []
    for i in range(360):  # an hour of polls every 10 s, the minute window sawing 5 -> 0
        left = float(5 - i % 6)
        minute = Meter(REQUESTS_MINUTE, Unit.REQUESTS, limit=5, remaining=left,
                       resets_at=T0 + timedelta(seconds=10 * i + 60), approximate_reset=True)
        s = Snapshot(account_id="rw", provider="routeway", label="Routeway",
                     state=State.EXHAUSTED if left == 0 else State.OK, meters=(minute,))
        out += policy.update(s, T0 + timedelta(seconds=10 * i))
    assert out == []


def test_per_minute_429s_speak_once_an_hour():
    policy = AlertPolicy()
    minute_429 = snap(State.RATE_LIMITED, remaining=False,
                      error=ErrorInfo("Rate limit exceeded", 429, retry_after_s=20, limit_kind="minute"))
    out = []
    for minute in range(120):  # two hours: a 429 every minute, each gone 30 s later
        out += policy.update(minute_429, T0 + timedelta(minutes=minute))
        out += policy.update(snap(State.OK, 300.0), T0 + timedelta(minutes=minute, seconds=30))
    assert [(a.kind, a.title) for a in out] == [(alerts.RATE_LIMITED, "Main: per-minute limit hit (429)")] * 2


def test_a_429_on_a_window_said_to_be_used_up_is_no_news_and_the_other_way_round():
    policy = AlertPolicy()
    reset = T0 + timedelta(minutes=30)
    out = policy.update(snap(State.EXHAUSTED, 0.0, 500, reset), T0)
    out += policy.update(snap(State.RATE_LIMITED, 0.0, 500, reset,
                              error=ErrorInfo("Hourly limit", 429, limit_kind="hourly")), T0 + timedelta(seconds=5))
    assert [a.kind for a in out] == [alerts.EXHAUSTED]
    other = AlertPolicy()
    out = other.update(snap(State.RATE_LIMITED, 1.0, 500, reset,
                            error=ErrorInfo("Hourly limit", 429, limit_kind="hourly")), T0)
    out += other.update(snap(State.EXHAUSTED, 0.0, 500, reset), T0 + timedelta(seconds=20))
    assert [a.kind for a in out] == [alerts.THRESHOLD, alerts.RATE_LIMITED]  # 1 of 500 left, then the 429: no "0 left"
    assert out[1].body == "Hourly limit. Resets 12:30."


def test_concurrent_streams_429_title():
    out = AlertPolicy().update(
        snap(State.RATE_LIMITED, error=ErrorInfo("Too many streams", 429, limit_kind="concurrent_streams")), T0)
    assert out[0].title == "Main: concurrent-stream limit hit (429)"


def test_stale_never_alerts_and_does_not_change_memory():
    policy = AlertPolicy()
    assert policy.update(snap(State.EXHAUSTED, 0.0, stale=True), T0) == []
    assert policy.update(snap(State.AUTH_ERROR, remaining=False, stale=True), T0) == []
    # first live data at 10 %: one threshold alert, no "restored"
    out = policy.update(snap(State.LOW, 50.0, 500.0), T0)
    assert [a.kind for a in out] == [alerts.THRESHOLD]


def test_usd_capped_credits_running_low():
    policy = AlertPolicy()
    out = []
    for i, r in enumerate([10.0, 5.0, 1.5, 0.4, 0.0, 0.0]):
        out += policy.update(snap(remaining=r, limit=10.0, unit=Unit.USD, name=CREDITS), T0 + timedelta(seconds=i))
    assert [a.kind for a in out] == [alerts.THRESHOLD, alerts.THRESHOLD, alerts.EXHAUSTED]
    assert (out[0].title, out[0].body) == ("Main: $1.50 left on the key", "$1.50 of $10.00 left on the key (15%).")
    assert out[2].title == "Main: $0.00 left on the key"


def test_usd_uncapped_balance_low():
    policy = AlertPolicy(low_usd=1.0)
    out = []
    for i, r in enumerate([5.0, 0.9, 0.8, 3.0, 0.5, -0.2]):
        out += policy.update(snap(remaining=r, limit=None, unit=Unit.USD, name="balance"), T0 + timedelta(seconds=i))
    # 0.5 is the same low-balance news within the hour
    assert [a.kind for a in out] == [alerts.THRESHOLD, alerts.EXHAUSTED]
    assert (out[0].title, out[0].body) == ("Main: $0.90 left in the balance", "Less than $1.00 left.")
    assert out[1].body == "Paid requests are refused until the account is topped up."


def test_offline_blips_do_not_end_episode_or_alert():
    policy = AlertPolicy()
    out = []
    for i in range(20):
        s = snap(State.OFFLINE if i % 2 else State.RATE_LIMITED, remaining=False)
        out += policy.update(s, T0 + timedelta(seconds=i * 10))
    assert [a.kind for a in out] == [alerts.RATE_LIMITED]


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


def test_kill_summary_counts_accounts_that_had_streams_and_names_the_others():
    alert = kill_summary(
        [KillResult("a", True, 3), KillResult("b", True, 1), KillResult("idle", True, 0), KillResult("c", False),
         KillResult("d", False), KillResult("e", True, error=ErrorInfo("Service unavailable", 503))],
        {"a": "Main", "b": "Backup", "idle": "Idle", "c": "OpenRouter", "d": "Routeway", "e": "Flaky"},
    )
    assert alert.title == "Stopped 3 streams on Main and 1 on Backup"
    assert alert.body == (
        "Streams your tools opened directly to OpenRouter or Routeway cannot be stopped from here.\n"
        "Flaky: Service unavailable")
    assert kill_summary([KillResult("a", True, 1)], {"a": "Main"}).title == "Stopped 1 stream on Main"
    assert kill_summary([KillResult("a", True, 0)], {"a": "Main"}).title == "No streams were running"
    assert kill_summary([KillResult("a", True, error=ErrorInfo("down", 503))], {}).title == "No streams stopped"
    assert kill_summary([], {}).body == "No accounts configured."


def test_a_reset_within_its_minute_keeps_its_seconds():
    """At 12:00:05 a window resetting at 12:00:20 "resets 12:00" would read as past: 12:00:20."""
    now = T0 + timedelta(seconds=5)
    out = AlertPolicy().update(snap(State.EXHAUSTED, 0.0, 500, T0 + timedelta(seconds=20)), now)
    assert [a.body for a in out] == ["Requests are refused until the window resets. Resets 12:00:20."]
    later = AlertPolicy().update(snap(State.EXHAUSTED, 0.0, 500, T0 + timedelta(minutes=1, seconds=20)), now)
    assert [a.body for a in later] == ["Requests are refused until the window resets. Resets 12:01."]


def test_kill_summary_says_what_the_gateway_and_the_kill_api_stopped_and_what_cannot_be():
    labels = {"or": "OpenRouter", "rw": "Routeway", "rr": "routing.run"}
    api = {"or": False, "rw": False, "rr": True}
    # As merged by gateway.kills: the gateway's counts are inside the results.
    results = [KillResult("or", True, 2), KillResult("rw", True, 1), KillResult("rr", True, 2)]
    alert = kill_summary(results, labels, {"or": 2, "rw": 1}, api)
    assert alert.title == "Stopped 3 streams through the gateway (OpenRouter 2, Routeway 1) and 2 on routing.run"
    assert alert.body == "Streams your tools opened directly to OpenRouter or Routeway cannot be stopped from here."
    # Only what is true: no gateway stream, no routing.run account.
    only_gateway = kill_summary([KillResult("or", True, 1), KillResult("rw", False)], labels, {"or": 1}, api)
    assert only_gateway.title == "Stopped 1 stream through the gateway (OpenRouter 1)"
    routing_only = kill_summary([KillResult("rr", True, 2)], labels, {}, api)
    assert (routing_only.title, routing_only.body) == ("Stopped 2 streams on routing.run", "")
    # The gateway stopped a routing.run stream and its kill API one more: both said.
    both = kill_summary([KillResult("rr", True, 3)], labels, {"rr": 1}, api)
    assert both.title == "Stopped 1 stream through the gateway (routing.run 1) and 2 on routing.run"
    nothing = kill_summary([KillResult("or", False), KillResult("rr", True, 0)], labels, {}, api)
    assert (nothing.title, nothing.body) == (
        "No streams were running", "Streams your tools opened directly to OpenRouter cannot be stopped from here.")


def test_chinese_sentences_after_a_providers_english_message_keep_a_space():
    from traywidget.i18n import ENGLISH, use_language

    use_language("zh_CN")
    try:
        minute_429 = snap(State.RATE_LIMITED, remaining=False,
                          error=ErrorInfo("Rate limit exceeded", 429, retry_after_s=20, limit_kind="minute"))
        (alert,) = AlertPolicy().update(minute_429, T0)
        # The provider's English sentence, a space, then the Chinese one with its full-width stop.
        assert alert.body == "Rate limit exceeded. 20 秒后重试。"
        assert alerts._sentences("请求被拒绝。", "16:00 重置。") == "请求被拒绝。16:00 重置。"
    finally:
        use_language(ENGLISH)
