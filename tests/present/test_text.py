"""Numbers and words the views show (no Qt needed): badge numbers, figures that say "left", the tooltip,
the menu's lines."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from tests.ui.conftest import NOW, make_snapshot
from traywidget.model import (
    BALANCE,
    CREDITS,
    FREE_REQUESTS_DAY,
    REQUESTS_DAY,
    REQUESTS_HOUR,
    REQUESTS_MINUTE,
    ErrorInfo,
    Meter,
    State,
    Unit,
)
from traywidget.present.formatting import left_text, percent_left, reset_text
from traywidget.present.headline import pick_headline
from traywidget.present.text import (
    account_details,
    account_name,
    badge_text,
    format_count,
    format_money,
    menu_account_line,
    meter_detail,
    state_text,
    status_text,
    tooltip_text,
)


@pytest.fixture
def berlin(monkeypatch):
    """The local clock of a person in Berlin (UTC+2 in June): reset times are shown on it."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("value,text", [
    (None, "?"), (float("nan"), "?"), (-3, "0"), (0, "0"), (7, "7"), (999, "999"), (999.9, "999"),
    (1000, "1K"), (1234, "1.2K"), (1299, "1.2K"), (9999, "9.9K"), (10_000, "10K"), (15_400, "15K"),
    (999_999, "999K"), (1_000_000, "1M"), (1_250_000, "1.2M"), (42_000_000, "42M"), (3e9, "3G"),
])
def test_format_count(value, text):
    assert format_count(value) == text


@pytest.mark.parametrize("value,text", [
    (None, "?"), (0, "$0"), (0.42, "$.42"), (0.999, "$.99"), (4, "$4"), (4.0, "$4"), (4.25, "$4.2"),
    (9.99, "$9.9"), (12.7, "$12"), (123.4, "$123"), (1234, "1.2K"), (-0.5, "$0"), (-3.2, "-$3"),
])
def test_format_money(value, text):
    assert format_money(value) == text


def test_badge_text_uses_unit():
    assert badge_text(Meter(CREDITS, Unit.USD, remaining=4.2, limit=10)) == "$4.2"
    assert badge_text(Meter(REQUESTS_HOUR, Unit.REQUESTS, remaining=1234, limit=5000)) == "1.2K"
    assert badge_text(Meter(REQUESTS_HOUR, Unit.REQUESTS)) == "?"
    assert badge_text(None) == "?"
    assert badge_text(Meter("usage_5h", Unit.PERCENT, remaining=76.4, limit=100)) == "76%"
    assert badge_text(Meter("balance", Unit.CNY, remaining=4.2)) == "¥4.2"


@pytest.mark.parametrize("meter,text", [
    (Meter(REQUESTS_HOUR, Unit.REQUESTS, remaining=345, limit=500), "345 requests left this hour"),
    (Meter(REQUESTS_HOUR, Unit.REQUESTS, remaining=1, limit=500), "1 request left this hour"),
    (Meter(REQUESTS_MINUTE, Unit.REQUESTS, remaining=0, limit=5), "0 requests left this minute"),
    (Meter(REQUESTS_DAY, Unit.REQUESTS, remaining=1580.9, limit=3000), "1,580 requests left today"),
    (Meter(FREE_REQUESTS_DAY, Unit.REQUESTS, remaining=40, limit=50, estimated=True),
     "≈ 40 free-model requests left today"),
    (Meter(CREDITS, Unit.USD, remaining=4.2, limit=10), "$4.20 left on the key"),
    (Meter(BALANCE, Unit.USD, remaining=3.1), "$3.10 left in the balance"),
    (Meter(REQUESTS_HOUR, Unit.REQUESTS, used=120), "Requests this hour: 120 used, no cap"),
    (Meter(REQUESTS_HOUR, Unit.REQUESTS, limit=500), "Requests this hour: unknown"),
    (Meter("requests", Unit.REQUESTS, remaining=40, limit=50), "40 requests left in this window"),
    (Meter("weird_window", Unit.REQUESTS, remaining=3, limit=5), "weird_window: 3 left"),
])
def test_every_figure_says_left_or_used(meter, text):
    assert left_text(meter) == text


def test_figures_of_the_limit():
    assert left_text(Meter(REQUESTS_HOUR, Unit.REQUESTS, remaining=100, limit=500), of_limit=True) == (
        "100 of 500 requests left this hour")
    assert left_text(Meter(CREDITS, Unit.USD, remaining=1.5, limit=10), of_limit=True) == (
        "$1.50 of $10.00 left on the key")


@pytest.mark.parametrize("remaining,limit,text", [(998, 1000, "99%"), (200, 1000, "20%"), (29, 100, "29%"),
                                                   (499, 10000, "4%"), (1000, 1000, "100%"), (0, 1000, "0%")])
def test_percent_left_rounds_down(remaining, limit, text):
    meter = Meter(REQUESTS_HOUR, Unit.REQUESTS, remaining=remaining, limit=limit)
    assert percent_left(meter) == text


def test_reset_text_on_the_local_clock(berlin):
    hour = Meter(REQUESTS_HOUR, Unit.REQUESTS, remaining=1, limit=5, resets_at=NOW + timedelta(minutes=23))
    assert reset_text(hour, NOW) == "resets 14:23"  # 12:23 UTC is 14:23 in Berlin in June
    rolling = Meter(REQUESTS_MINUTE, Unit.REQUESTS, remaining=1, limit=5, resets_at=NOW + timedelta(seconds=40),
                    approximate_reset=True)
    assert reset_text(rolling, NOW) == "resets in about 40 s"
    monthly = Meter(CREDITS, Unit.USD, remaining=1, limit=5, resets_at=NOW + timedelta(days=3, hours=2))
    assert reset_text(monthly, NOW) == "resets in 3 d 2 h"
    assert reset_text(Meter(REQUESTS_HOUR, Unit.REQUESTS, resets_at=NOW - timedelta(seconds=1)), NOW) == "resets now"
    assert reset_text(Meter(BALANCE, Unit.USD, remaining=3), NOW) is None


def test_account_name_does_not_repeat_the_provider():
    assert account_name(make_snapshot(label="Main")) == "Main (routing.run)"
    assert account_name(make_snapshot(label="routing.run · Premium")) == "routing.run · Premium"
    assert account_name(make_snapshot(label="My openrouter key", provider="openrouter")) == "My openrouter key"
    assert account_name(make_snapshot(label="Work", provider="openrouter")) == "Work (OpenRouter)"


def test_status_text(utc_local_time):
    assert status_text(make_snapshot()) == "OK"
    assert status_text(make_snapshot(state=State.RATE_LIMITED,
                                     error=ErrorInfo("Hourly request limit exceeded", 429))) == (
        "Rate limited (429), seen 12:00: Hourly request limit exceeded")
    long = "x" * 200
    assert status_text(make_snapshot(state=State.ERROR, error=ErrorInfo(long, 500))) == "Error: " + "x" * 59 + "…"
    assert status_text(make_snapshot(stale=True)) == "OK · cached"
    assert status_text(make_snapshot().with_changes(streams=2)) == "OK · 2 streams running"
    assert status_text(make_snapshot().with_changes(streams=0)) == "OK"
    # a low account's error (if any) is not news: it is fine
    assert status_text(make_snapshot(state=State.LOW, error=ErrorInfo("old", 500))) == "Running low this hour"


def test_menu_account_line():
    assert menu_account_line(make_snapshot(label="Main", hour=(345, 500))) == (
        "Main — 345 requests left this hour · OK")
    assert menu_account_line(make_snapshot(label="Routeway", provider="routeway", hour=None, plan=None)) == (
        "Routeway — no usage figures · OK")
    assert menu_account_line(make_snapshot(label="New", hour=None, fetched_at=None)) == (
        "New — not fetched yet · OK")
    assert menu_account_line(make_snapshot(label="Bad", hour=None, state=State.AUTH_ERROR,
                                           error=ErrorInfo("Invalid API key", 401))) == (
        "Bad — no usage figures · Key rejected: Invalid API key")


def test_tooltip_one_line_per_account_and_the_badge_line_first(berlin):
    main = make_snapshot("main", label="Main", hour=(345, 500))
    router = make_snapshot("or", label="OpenRouter", provider="openrouter", hour=None, plan=None,
                           credits=(9.0, 10.0), state=State.RATE_LIMITED, error=ErrorInfo("Rate limit exceeded", 429))
    work = make_snapshot("work", label="Work", hour=(450, 500), day=(2900, 3000))
    snapshots = [main, router, work]
    headline = pick_headline(snapshots)
    assert headline.key == ("main", REQUESTS_HOUR)
    assert tooltip_text(snapshots, headline, NOW) == "\n".join([
        "Badge: Main (routing.run) — 345 requests left this hour, resets 14:23 · OK",
        "OpenRouter: $9.00 left on the key · Rate limited (429), seen 14:00: Rate limit exceeded",
        "Work (routing.run): 450 requests left this hour · OK",
    ])
    paused = tooltip_text([main], pick_headline([main]), NOW, paused=True)
    assert paused == "Badge: Main (routing.run) — 345 requests left this hour, resets 14:23 · OK · polling paused"


def test_tooltip_keeps_the_badge_account_line_when_the_badge_shows_another_of_its_meters(berlin):
    main = make_snapshot("main", label="Main", hour=(345, 500), day=(100, 3000))
    pinned = pick_headline([main], pinned="main/requests_hour")
    assert tooltip_text([main], pinned, NOW) == "\n".join([
        "Badge: Main (routing.run) — 345 requests left this hour, resets 14:23",
        "Main (routing.run): 100 requests left today · OK",
    ])


def test_tooltip_without_figures():
    assert tooltip_text([], None, NOW) == "Traywidget: no accounts yet. Right-click the icon to add one."
    fresh = make_snapshot("new", label="New", hour=None, fetched_at=None)
    assert tooltip_text([fresh], None, NOW) == "Badge: no usage figures yet\nNew (routing.run): not fetched yet · OK"


def test_meter_details(berlin):
    hour = Meter(REQUESTS_HOUR, Unit.REQUESTS, remaining=420, limit=500, resets_at=NOW + timedelta(minutes=23))
    assert meter_detail(hour, NOW) == "Requests this hour: 420 of 500 left · resets 14:23"
    approx = Meter(REQUESTS_MINUTE, Unit.REQUESTS, remaining=40, limit=50, estimated=True,
                   resets_at=NOW + timedelta(seconds=40), approximate_reset=True)
    assert meter_detail(approx, NOW) == "Requests this minute: ≈ 40 of 50 left · resets in about 40 s"
    assert meter_detail(Meter(REQUESTS_HOUR, Unit.REQUESTS, used=120), NOW) == "Requests this hour: 120 used, no cap"
    assert meter_detail(Meter(BALANCE, Unit.USD, remaining=3.1), NOW) == "Account balance: $3.10 left"


def test_account_details(berlin):
    snapshot = make_snapshot(label="Main", hour=(345, 500), state=State.RATE_LIMITED,
                             error=ErrorInfo("Hourly request limit exceeded", 429),
                             fetched_at=NOW - timedelta(seconds=12)).with_changes(streams=2, notes=("a note",))
    assert account_details(snapshot, NOW) == [
        "routing.run · Premium",
        "Requests this hour: 345 of 500 left · resets 14:23",
        "2 streams running",
        "Last error: Hourly request limit exceeded (429)",
        "a note",
        "fetched 12 s ago",
    ]


def test_traffic_readings_say_where_they_were_seen_once(utc_local_time):
    """A traffic-only account: the age line says "seen … in your traffic"; a polled account's traffic
    window says it on its own line, beside the poll's "fetched"."""
    from dataclasses import replace

    from traywidget.model import REQUESTS_WINDOW, Snapshot, Source

    seen = NOW - timedelta(minutes=2)
    window = Meter(REQUESTS_WINDOW, Unit.REQUESTS, used=1, limit=600, remaining=599,
                   resets_at=NOW + timedelta(seconds=30), source=Source.TRAFFIC, seen_at=seen)
    traffic_only = Snapshot("oc", "openai-compatible", "Groq", State.OK, meters=(window,), fetched_at=seen)
    assert account_details(traffic_only, NOW)[1:] == [
        "Requests in the current window: 599 of 600 left · resets 12:00:30",
        "seen 2 min ago in your traffic",
    ]
    polled = make_snapshot(label="Main", hour=(420, 500), fetched_at=NOW - timedelta(seconds=20))
    polled = polled.with_changes(meters=(replace(polled.meters[0], seen_at=NOW - timedelta(seconds=20)), window))
    assert account_details(polled, NOW)[1:] == [
        "Requests this hour: 420 of 500 left · resets 12:23",
        "Requests in the current window: 599 of 600 left · resets 12:00:30 · seen 2 min ago in your traffic",
        "fetched 20 s ago",
    ]


def test_a_firewall_block_is_said_once_and_never_as_key_rejected():
    from traywidget.model import HttpResult, Snapshot
    from traywidget.present.severity import Severity, severity_of
    from traywidget.providers.firewall import firewall_block

    block = firewall_block(HttpResult(403, {"server": "cloudflare", "cf-ray": "8f1a-FRA"}, b"error code: 1010"))
    snap = Snapshot("rw", "routeway", "Routeway", State.BLOCKED, error=block.info)
    assert status_text(snap) == "Blocked by the provider's firewall (Cloudflare 1010): it re…"
    assert state_text(State.BLOCKED) == "Blocked by firewall"
    assert not State.BLOCKED.needs_user and not State.BLOCKED.key_accepted
    assert severity_of(snap) is Severity.ACTION  # nothing changes until someone acts; the key is not blamed
