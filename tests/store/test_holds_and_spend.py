"""The hold book and the spend book: their files, their clocks, their rules."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta

from traywidget.gateway.rails import reserve_crossing, spend_crossing
from traywidget.model import (
    HOLD_DAILY_CAP,
    HOLD_KILL,
    HOLD_RESERVE,
    REQUESTS_DAY,
    REQUESTS_HOUR,
    REQUESTS_WINDOW,
    GatewayUsage,
    Hold,
    Meter,
    Rails,
    RequestUsage,
    Unit,
)
from traywidget.store.holds import HoldBook
from traywidget.store.spend import SpendBook, next_midnight, start_of_day

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def test_a_hold_is_written_privately_read_by_another_book_and_runs_out(tmp_path):
    clock = Clock()
    book = HoldBook(tmp_path / "holds.json", now=clock)
    book.hold(["a", "b"], HOLD_KILL, 30)
    assert stat.S_IMODE((tmp_path / "holds.json").stat().st_mode) == 0o600
    other = HoldBook(tmp_path / "holds.json", now=clock)
    assert other.active("a") == Hold(HOLD_KILL, NOW, NOW + timedelta(minutes=30))
    assert other.resume(["b"]) == ["b"]
    assert book.active("b") is None and book.active("a") is not None  # the other book's resume is seen
    clock.now += timedelta(minutes=30)
    assert book.all_active() == {}


def test_a_longer_hold_is_not_shortened_and_until_resume_outlasts_all(tmp_path):
    clock = Clock()
    book = HoldBook(tmp_path / "holds.json", now=clock)
    book.hold(["a"], HOLD_KILL, None)
    book.hold_until(["a"], HOLD_RESERVE, NOW + timedelta(minutes=5))
    assert book.active("a") == Hold(HOLD_KILL, NOW, None)
    assert book.resume() == ["a"] and book.resume() == []


def test_an_unreadable_holds_file_holds_nothing_and_the_next_write_replaces_it(tmp_path):
    (tmp_path / "holds.json").write_text("{not json")
    book = HoldBook(tmp_path / "holds.json", now=Clock())
    assert book.all_active() == {}
    book.hold(["a"], HOLD_KILL, 5)
    assert json.loads((tmp_path / "holds.json").read_text())["holds"]["a"]["reason"] == "kill"


def test_spend_adds_up_per_model_keeps_across_books_and_starts_again_at_midnight(tmp_path):
    clock = Clock()
    book = SpendBook(tmp_path / "usage.json", now=clock)
    book.record("a", RequestUsage("m1", 10, 5, 0.25, "USD"))
    book.record("a", RequestUsage("m2", 1, 2, None, None, stopped=True))
    book.flush()
    again = SpendBook(tmp_path / "usage.json", now=clock).today("a")
    assert again.to_json() == {
        "since": start_of_day(NOW).astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "requests": 2, "input_tokens": 11, "output_tokens": 7, "cost": 0.25, "currency": "USD",
        "cost_unreported": 1, "stopped": 1,
        "models": {"m1": {"requests": 1, "input_tokens": 10, "output_tokens": 5, "cost": 0.25, "currency": "USD",
                          "cost_unreported": 0, "stopped": 0},
                   "m2": {"requests": 1, "input_tokens": 1, "output_tokens": 2, "cost": None, "currency": None,
                          "cost_unreported": 1, "stopped": 1}}}
    clock.now = next_midnight(NOW)
    assert book.today("a").total.requests == 0
    assert SpendBook(tmp_path / "usage.json", now=clock).today("a").total.requests == 0  # yesterday's file


def test_polled_windows_less_the_requests_answered_since_each_poll_asked():
    from traywidget.gateway.holding import AnsweredTimes, estimated_windows

    asked_hour, asked_day = NOW - timedelta(seconds=2), NOW - timedelta(minutes=5)  # a fast and a full poll
    hour = Meter(REQUESTS_HOUR, Unit.REQUESTS, limit=500, remaining=40, resets_at=NOW + timedelta(minutes=30),
                 seen_at=asked_hour)
    day = Meter(REQUESTS_DAY, Unit.REQUESTS, limit=1500, remaining=900, resets_at=NOW + timedelta(hours=14),
                seen_at=asked_day)
    answers = AnsweredTimes()
    for when in (NOW - timedelta(minutes=4), asked_hour, NOW - timedelta(seconds=1)):  # one while the fast poll ran
        answers.add(when)
    assert [m.remaining for m in estimated_windows((hour, day), answers, NOW)] == [38, 897]
    # Past its reset a window says nothing until the next poll; never below 0.
    later = NOW + timedelta(minutes=30)
    assert [(m.name, m.remaining) for m in estimated_windows((hour, day), answers, later)] == [(REQUESTS_DAY, 897)]
    tight = Meter(REQUESTS_HOUR, Unit.REQUESTS, limit=500, remaining=1, seen_at=asked_day)
    assert estimated_windows((tight,), answers, NOW)[0].remaining == 0
    answers.forget_before(asked_hour)
    assert answers.at == [asked_hour, NOW - timedelta(seconds=1)]


def test_the_rails_cross_exactly_below_the_reserve_and_at_the_cap():
    meter = Meter(REQUESTS_HOUR, Unit.REQUESTS, limit=100, remaining=50, resets_at=NOW + timedelta(minutes=20))
    rails = Rails(reserve=50)
    assert reserve_crossing(rails, (meter,), NOW) is None  # 50 left is not fewer than 50
    crossing = reserve_crossing(rails, (Meter(REQUESTS_HOUR, Unit.REQUESTS, limit=100, remaining=49,
                                              resets_at=NOW + timedelta(minutes=20)),), NOW)
    assert crossing == (HOLD_RESERVE, NOW + timedelta(minutes=20))
    # A window whose length the headers do not name stands in; no reset known: the window's length.
    generic = Meter(REQUESTS_WINDOW, Unit.REQUESTS, limit=10, remaining=1)
    assert reserve_crossing(Rails(reserve=2, reserve_window="minute"), (generic,), NOW) == (
        HOLD_RESERVE, NOW + timedelta(minutes=1))
    today = GatewayUsage(start_of_day(NOW)).plus(RequestUsage(cost=4.99, currency="USD"))
    assert spend_crossing(Rails(daily_cap=5.0), today, NOW) is None
    today = today.plus(RequestUsage(cost=0.01, currency="USD"))
    assert spend_crossing(Rails(daily_cap=5.0), today, NOW) == (HOLD_DAILY_CAP, next_midnight(NOW))
    assert spend_crossing(Rails(daily_cap=5.0), GatewayUsage(NOW).plus(RequestUsage()), NOW) is None


def test_twenty_processes_holding_at_once_lose_no_hold(tmp_path):
    import subprocess
    import sys
    import time

    path = tmp_path / "holds.json"
    start = time.time() + 1.5  # every writer starts at this moment, so their reads and writes overlap
    code = ("import sys, time; from pathlib import Path; from traywidget.store.holds import HoldBook; "
            "book = HoldBook(Path(sys.argv[1])); time.sleep(max(0.0, float(sys.argv[2]) - time.time())); "
            "book.hold([sys.argv[3]], 'kill', None)")
    writers = [subprocess.Popen([sys.executable, "-c", code, str(path), str(start), f"acct-{n}"])
               for n in range(20)]
    assert [writer.wait(30) for writer in writers] == [0] * 20
    assert sorted(HoldBook(path).all_active()) == sorted(f"acct-{n}" for n in range(20))
