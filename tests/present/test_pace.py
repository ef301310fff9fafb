"""Pace: the straight-line forecast from history, with exact numbers, and its once-per-window alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from traywidget.model import (
    BALANCE,
    REQUESTS_DAY,
    REQUESTS_HOUR,
    REQUESTS_MINUTE,
    Meter,
    Snapshot,
    State,
    Unit,
)
from traywidget.present.pace import PACE, Pace, PaceWatch, clock_text, estimate, pace_text
from traywidget.store.history import HistoryStore

T15 = datetime(2025, 6, 2, 15, 0, tzinfo=UTC)
RESET = datetime(2025, 6, 2, 16, 0, tzinfo=UTC)


pytestmark = pytest.mark.usefixtures("utc_local_time")


def hour_meter(remaining, resets_at=RESET, name=REQUESTS_HOUR, limit=500.0):
    return Meter(name, Unit.REQUESTS, limit=limit, remaining=remaining, resets_at=resets_at)


def every_5_min(start, values):
    return [((start + timedelta(minutes=5 * i)).timestamp(), float(v)) for i, v in enumerate(values)]


def test_runs_out_before_the_reset():
    # 50 requests every 5 minutes since 15:00: 600 an hour; 200 left at 15:30 last 20 minutes.
    samples = every_5_min(T15, [500, 450, 400, 350, 300, 250])
    now = T15 + timedelta(minutes=30)
    pace = estimate(samples, hour_meter(200), now)
    assert pace == Pace(per_hour=600.0, runs_out_at=T15 + timedelta(minutes=50), resets_at=RESET, span_s=1800.0)
    assert pace.runs_out_before_reset
    assert pace_text(pace, now) == "at this pace you run out at 15:50 (resets 16:00)"


def test_lasts_until_the_reset():
    # 10 every 5 minutes: 120 an hour; 440 left at 15:30 would last 3 h 40 min.
    samples = every_5_min(T15, [500, 490, 480, 470, 460, 450])
    now = T15 + timedelta(minutes=30)
    pace = estimate(samples, hour_meter(440), now)
    assert pace.per_hour == 120.0
    assert pace.runs_out_at == now + timedelta(hours=440 / 120)
    assert not pace.runs_out_before_reset
    assert pace_text(pace, now) is None  # nothing to warn about


def test_only_the_current_window_counts():
    # Samples of the previous hour (14:40, 14:50: nearly empty) are before the window started at 15:00.
    samples = [((T15 - timedelta(minutes=20)).timestamp(), 30.0), ((T15 - timedelta(minutes=10)).timestamp(), 5.0)]
    samples += every_5_min(T15, [500, 470, 440, 410])
    now = T15 + timedelta(minutes=20)
    pace = estimate(samples, hour_meter(380), now)
    assert pace.span_s == 1200.0 and pace.per_hour == 360.0


def test_a_refill_restarts_the_stretch():
    # A daily window topped up at 10:20 (remaining jumps up): only what follows counts.
    day_reset = datetime(2025, 6, 3, 0, 0, tzinfo=UTC)
    start = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
    samples = every_5_min(start, [100, 90, 80, 1000, 990, 980, 970, 960])
    now = start + timedelta(minutes=40)
    meter = Meter(REQUESTS_DAY, Unit.REQUESTS, limit=1000, remaining=950, resets_at=day_reset)
    pace = estimate(samples, meter, now)
    assert pace.span_s == 1500.0 and pace.per_hour == pytest.approx(50 / 1500 * 3600)
    assert pace.runs_out_at == now + timedelta(seconds=950 / (50 / 1500))


def test_the_recent_pace_not_the_whole_day():
    # A daily window sampled since midnight: only the last 3 hours (09:00-12:00) count.
    midnight = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)
    values = [5000 - 10 * i for i in range(12 * 9)] + [3920 - 50 * i for i in range(36)]
    samples = every_5_min(midnight, values)
    now = midnight + timedelta(hours=12)
    meter = Meter(REQUESTS_DAY, Unit.REQUESTS, limit=5000, remaining=2120,
                  resets_at=midnight + timedelta(days=1))
    pace = estimate(samples, meter, now)
    assert pace.span_s == 3 * 3600.0
    assert pace.per_hour == 600.0  # (3920 - 2120) / 3 h
    assert pace.runs_out_at == now + timedelta(hours=2120 / 600)
    assert pace_text(pace, now) == "at this pace you run out at 15:32 (resets tomorrow 00:00)"


@pytest.mark.parametrize("samples,why", [
    (every_5_min(T15 + timedelta(minutes=20), [400]), "10 minutes of history is too short"),
    ([(T15.timestamp(), 500.0)], "two points (one sample and the reading) are too few"),
    ([], "no history at all"),
])
def test_too_little_history_is_no_estimate(samples, why):
    assert estimate(samples, hour_meter(380), T15 + timedelta(minutes=30)) is None, why


def test_nothing_to_forecast():
    samples = every_5_min(T15, [500, 450, 400, 350, 300, 250])
    now = T15 + timedelta(minutes=30)
    assert estimate(samples, hour_meter(0), now) is None  # already out
    assert estimate(samples, hour_meter(None), now) is None  # unknown
    minute = Meter(REQUESTS_MINUTE, Unit.REQUESTS, limit=100, remaining=50, resets_at=now + timedelta(seconds=30))
    assert estimate(samples, minute, now) is None  # refills before anyone could act


def test_no_use_is_no_run_out_and_no_sentence():
    samples = every_5_min(T15, [300, 300, 300, 300])
    now = T15 + timedelta(minutes=20)
    pace = estimate(samples, hour_meter(300), now)
    assert pace == Pace(per_hour=0.0, runs_out_at=None, resets_at=RESET, span_s=1200.0)
    assert pace_text(pace, now) is None


def test_a_balance_without_reset():
    samples = every_5_min(T15, [10.0, 9.5, 9.0, 8.5])
    now = T15 + timedelta(minutes=20)
    pace = estimate(samples, Meter(BALANCE, Unit.USD, remaining=8.0), now)
    assert pace.per_hour == pytest.approx(6.0)
    assert pace_text(pace, now) == "at this pace you run out at 16:40"


def test_clock_text_days():
    now = datetime(2025, 6, 2, 23, 0, tzinfo=UTC)
    assert clock_text(now + timedelta(minutes=30), now) == "23:30"
    assert clock_text(now + timedelta(hours=2), now) == "tomorrow 01:00"
    assert clock_text(now + timedelta(days=2), now) == "2025-06-04 23:00"


def snapshot(remaining, fetched_at, resets_at=RESET, state=State.OK, stale=False):
    return Snapshot("main", "routing.run", "Main", state, meters=(hour_meter(remaining, resets_at),),
                    fetched_at=fetched_at, stale=stale)


def test_watch_says_it_once_per_window_from_a_real_history(tmp_path):
    with HistoryStore(tmp_path) as history:
        watch = PaceWatch(history.series, enabled=True)
        said = []
        # Two hours of 50 requests every 5 minutes: each window runs out at :50, before its reset.
        for hour in range(2):
            start = T15 + timedelta(hours=hour)
            for i in range(12):
                now = start + timedelta(minutes=5 * i)
                snap = snapshot(max(0, 500 - 50 * i), now, resets_at=start + timedelta(hours=1))
                said += watch.update(snap, now)
                history.record(snap)
        assert [(a.kind, a.account_id, a.meter) for a in said] == [(PACE, "main", REQUESTS_HOUR)] * 2
        # The first moment the history is long enough: 15:15 (four samples over 15 minutes).
        first = said[0]
        assert first.title == "Main: will run out before it resets"
        assert first.body == ("Requests this hour: at this pace you run out at 15:50 (resets 16:00). "
                              "An estimate from your use over the last 15 min.")
        assert "16:50 (resets 17:00)" in said[1].body


def test_watch_is_quiet_when_off_stale_or_failing():
    samples = every_5_min(T15, [500, 450, 400, 350, 300, 250])
    history = lambda account, meter, since: [s for s in samples if s[0] >= since]  # noqa: E731 - a one-line stand-in reads better as a lambda
    now = T15 + timedelta(minutes=30)
    assert PaceWatch(history, enabled=False).update(snapshot(200, now), now) == []
    watch = PaceWatch(history, enabled=True)
    assert watch.update(snapshot(200, now, stale=True), now) == []
    assert watch.update(snapshot(200, now, state=State.OFFLINE), now) == []
    assert len(watch.update(snapshot(200, now), now)) == 1
    # The same window, its reset time wobbling by seconds: not again.
    assert watch.update(snapshot(150, now + timedelta(minutes=5), resets_at=RESET + timedelta(seconds=7)), now) == []
    watch.forget("main")
    assert len(watch.update(snapshot(150, now + timedelta(minutes=5)), now)) == 1
