"""HistoryStore: sampling cadence, pruning, series, crash tolerance."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta

import pytest

from traywidget.model import CREDITS, REQUESTS_HOUR, Meter, Snapshot, State, Unit
from traywidget.store.history import FILENAME, HistoryStore

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def snap(remaining, *, account="a", stale=False, fetched_at=None):
    return Snapshot(
        account_id=account, provider="routing.run", label="A", state=State.OK, stale=stale,
        fetched_at=fetched_at,
        meters=(Meter(REQUESTS_HOUR, Unit.REQUESTS, limit=500, remaining=remaining),
                Meter(CREDITS, Unit.USD, limit=None, remaining=None)),
    )


def test_one_sample_per_five_minutes(tmp_path):
    with HistoryStore(tmp_path) as h:
        for i in range(360):  # an hour at 10 s
            h.record(snap(500 - i), T0 + timedelta(seconds=10 * i))
        series = h.series("a", REQUESTS_HOUR, T0 - timedelta(hours=1))
        assert len(series) == 12
        assert series[0] == (T0.timestamp(), 500.0)
        assert series[1][0] - series[0][0] == 300
        # unknown remaining is not recorded
        assert h.series("a", CREDITS, T0) == []


def test_a_window_refilled_by_its_reset_is_an_estimate_not_a_sample(tmp_path):
    from dataclasses import replace

    from traywidget.model import Freshness

    refilled = snap(500, fetched_at=T0)
    refilled = refilled.with_changes(meters=(replace(refilled.meters[0], freshness=Freshness.REFILLED),))
    with HistoryStore(tmp_path) as h:
        assert h.record(refilled) == 0
        assert h.series("a", REQUESTS_HOUR, T0 - timedelta(hours=1)) == []


def test_stale_not_recorded_and_uses_fetched_at(tmp_path):
    with HistoryStore(tmp_path) as h:
        assert h.record(snap(5, stale=True), T0) == 0
        assert h.record(snap(5, fetched_at=T0)) == 1
        assert h.series("a", REQUESTS_HOUR, T0) == [(T0.timestamp(), 5.0)]


def test_prune_after_48h_and_since_filter(tmp_path):
    with HistoryStore(tmp_path) as h:
        for i in range(60):  # 60 hours hourly
            h.record(snap(i), T0 + timedelta(hours=i))
        end = T0 + timedelta(hours=59)
        h.prune(end)
        assert h.count() == 49  # hours 11..59
        last24 = h.series("a", REQUESTS_HOUR, end - timedelta(hours=24))
        assert len(last24) == 25 and last24[-1][1] == 59.0


def test_reopen_keeps_samples_and_cadence(tmp_path):
    with HistoryStore(tmp_path) as h:
        h.record(snap(10), T0)
    with HistoryStore(tmp_path) as h:
        # within 5 min of the persisted sample: skipped
        assert h.record(snap(9), T0 + timedelta(seconds=60)) == 0
        assert h.record(snap(8), T0 + timedelta(seconds=301)) == 1
        assert len(h.series("a", REQUESTS_HOUR, T0 - timedelta(1))) == 2


def test_accounts_separate_and_forget(tmp_path):
    with HistoryStore(tmp_path) as h:
        h.record(snap(1, account="a"), T0)
        h.record(snap(2, account="b"), T0)
        h.forget("a")
        assert h.series("a", REQUESTS_HOUR, T0) == []
        assert h.series("b", REQUESTS_HOUR, T0) == [(T0.timestamp(), 2.0)]


def test_corrupt_file_is_moved_aside(tmp_path):
    (tmp_path / FILENAME).write_bytes(b"this is not a database" * 100)
    with HistoryStore(tmp_path) as h:
        assert h.record(snap(3), T0) == 1
    assert any(p.name.startswith(FILENAME + ".corrupt-") for p in tmp_path.iterdir())


@pytest.mark.slow
def test_reopen_after_sigkill_mid_writes(tmp_path):
    """A writer SIGKILLed while writing as fast as it can leaves a readable store."""
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {os.getcwd()!r})
        from traywidget.store.history import HistoryStore
        from traywidget.model import Meter, Snapshot, State, Unit
        h = HistoryStore({str(tmp_path)!r}, min_interval_s=0)
        i = 0
        while True:
            s = Snapshot(account_id="a", provider="p", label="A", state=State.OK,
                         meters=tuple(Meter(f"m{{k}}", Unit.REQUESTS, limit=100, remaining=i % 100)
                                      for k in range(20)))
            h.record(s, 1_700_000_000 + i)
            i += 1
            if i == 50:
                print("ready", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    with HistoryStore(tmp_path, keep_s=1e12) as h:
        rows = h.series("a", "m0", 0)
        assert len(rows) >= 50
        # timestamps strictly increasing: no torn rows
        assert all(b[0] > a[0] for a, b in zip(rows, rows[1:]))
        assert h.record(snap(1), time.time()) == 1


def test_the_history_files_are_0600_like_the_config(tmp_path):
    """Under the usual umask sqlite makes its file 0644, and its -wal and -shm files take that mode."""
    import stat

    old_umask = os.umask(0o022)
    try:
        with HistoryStore(tmp_path / "new") as h:
            h.record(snap(400), T0)
            made = sorted((tmp_path / "new").iterdir())
            assert [p.name for p in made] == [FILENAME, f"{FILENAME}-shm", f"{FILENAME}-wal"]
            assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in made} == {p.name: 0o600 for p in made}
        (tmp_path / "old").mkdir()
        (tmp_path / "old" / FILENAME).touch(mode=0o644)  # made by an earlier version
        with HistoryStore(tmp_path / "old"):
            assert stat.S_IMODE((tmp_path / "old" / FILENAME).stat().st_mode) == 0o600
    finally:
        os.umask(old_umask)


def test_a_days_gateway_traffic_is_kept_per_account_and_day(tmp_path):
    from traywidget.model import GatewayUsage, RequestUsage, Snapshot, State, UsageCount
    from traywidget.store.spend import start_of_day

    day = start_of_day(datetime(2026, 12, 7, 10, tzinfo=UTC))
    usage = GatewayUsage(day).plus(RequestUsage("m", 12, 8, 0.0025, "USD"))
    snapshot = Snapshot("a", "openrouter", "A", State.OK, gateway_usage=usage)
    with HistoryStore(tmp_path) as history:
        history.record(snapshot)
        history.record(snapshot.with_changes(gateway_usage=usage.plus(RequestUsage(stopped=True))))
        assert history.gateway_days("a", day)[0][1].requests == 1  # a row at most every min_interval_s
    with HistoryStore(tmp_path, min_interval_s=0) as history:
        history.record(snapshot.with_changes(gateway_usage=usage.plus(RequestUsage(stopped=True))))
        assert history.gateway_days("a", day) == [(day, UsageCount(2, 12, 8, 0.0025, "USD", 1, 1))]
        history.forget("a")
        assert history.gateway_days("a", day) == []
