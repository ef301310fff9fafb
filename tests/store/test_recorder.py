"""What the app keeps of its snapshots, written on the engine's thread: history samples as they come, the
cache every few minutes and at the end — with the accounts not polled yet this session kept."""

from __future__ import annotations

from datetime import UTC, datetime

from traywidget.model import REQUESTS_HOUR, Meter, Snapshot, State, Unit
from traywidget.store.cache import SnapshotCache
from traywidget.store.history import HistoryStore
from traywidget.store.recorder import SnapshotRecorder

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def snap(account_id: str, remaining: float, *, stale: bool = False) -> Snapshot:
    return Snapshot(account_id, "routing.run", account_id.title(), State.OK,
                    meters=(Meter(REQUESTS_HOUR, Unit.REQUESTS, limit=500, remaining=remaining),),
                    fetched_at=T0, stale=stale)


def test_history_as_snapshots_come_and_the_cache_at_the_interval_keeping_unpolled_accounts(tmp_path):
    latest: dict[str, Snapshot] = {"idle": snap("idle", 7, stale=True)}  # known only from the cache
    clock = [100.0]
    with HistoryStore(tmp_path / "h") as history:
        recorder = SnapshotRecorder(history, SnapshotCache(tmp_path / "c"), lambda: latest.values(),
                                    cache_interval_s=300, monotonic=lambda: clock[0])
        latest["main"] = snap("main", 420)
        recorder.on_snapshot(latest["main"])
        assert history.series("main", REQUESTS_HOUR, 0) == [(T0.timestamp(), 420.0)]
        assert SnapshotCache(tmp_path / "c").load() == []  # not yet: 0 s of 300
        clock[0] += 300
        recorder.on_snapshot(latest["main"])
    saved = {s.account_id: s for s in SnapshotCache(tmp_path / "c").load()}
    assert set(saved) == {"main", "idle"}
    assert saved["idle"].meter(REQUESTS_HOUR).remaining == 7
    assert saved["main"].meter(REQUESTS_HOUR).remaining == 420


def test_without_history_or_cache_nothing_fails(tmp_path):
    recorder = SnapshotRecorder(None, None, lambda: [snap("main", 1)], cache_interval_s=0)
    recorder.on_snapshot(snap("main", 1))
    recorder.save()
