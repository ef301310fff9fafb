"""What the app keeps of the snapshots it sees: the usage history and, now and then, the cache.

Subscribed to the engine on the engine's own thread: a history write or a
cache file's fsync never waits on (or stalls) the GUI thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from traywidget.model import Snapshot
from traywidget.store.cache import SnapshotCache
from traywidget.store.history import HistoryStore

log = logging.getLogger(__name__)

CACHE_SAVE_INTERVAL_S = 300.0


class SnapshotRecorder:
    def __init__(
        self,
        history: HistoryStore | None,
        cache: SnapshotCache | None,
        latest: Callable[[], Iterable[Snapshot]],
        *,
        cache_interval_s: float = CACHE_SAVE_INTERVAL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.history = history
        self.cache = cache
        self._latest = latest
        self._interval = cache_interval_s
        self._monotonic = monotonic
        self._saved_at = monotonic()

    def on_snapshot(self, snapshot: Snapshot) -> None:
        if self.history is not None:
            try:
                self.history.record(snapshot)
            except Exception:
                log.exception("usage history failed")
        if self._monotonic() - self._saved_at >= self._interval:
            self.save()

    def save(self) -> None:
        """Save every account's latest snapshot (stale ones too: an account not polled yet this
        session keeps its cached values)."""
        self._saved_at = self._monotonic()
        if self.cache is None:
            return
        snapshots = list(self._latest())
        if snapshots:
            self.cache.save(snapshots)
