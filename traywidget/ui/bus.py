"""The one seam between the engine (plain callbacks, on the engine's thread) and the Qt views.

A refresh of many accounts publishes its snapshots in a burst. Posted as one
Qt event each, Qt would deliver them all in a single pass of its event loop,
and the views' work for 100 snapshots would stall the GUI for 100 ms. So the
engine's thread only queues them and asks once for a drain; the GUI thread
hands them on in slices of at most SLICE_S, going back to the event loop
(timers, input, painting) between slices. Every snapshot is delivered, in
order: the alert policy needs each transition, not only the latest state.

A publish from the GUI thread itself (tests, a fake engine) is delivered at
once, as a plain signal would be.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal

from traywidget.model import Snapshot

SLICE_S = 0.006  # well inside one 60 Hz frame, leaving room for the work of one more snapshot


class SnapshotBus(QObject):
    snapshot = Signal(object)  # one Snapshot, always on the GUI thread
    _drain_requested = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending: deque[Snapshot] = deque()
        self._lock = threading.Lock()
        self._draining = False
        self._drain_requested.connect(self._drain, Qt.ConnectionType.QueuedConnection)

    def publish(self, snapshot: Snapshot) -> None:
        """From any thread."""
        if QThread.currentThread() is self.thread():
            self.snapshot.emit(snapshot)
            return
        with self._lock:
            self._pending.append(snapshot)
            if self._draining:
                return
            self._draining = True
        self._drain_requested.emit()

    def _drain(self) -> None:
        deadline = time.perf_counter() + SLICE_S
        while True:
            with self._lock:
                if not self._pending:
                    self._draining = False
                    return
                snapshot = self._pending.popleft()
            self.snapshot.emit(snapshot)
            if time.perf_counter() > deadline:
                QTimer.singleShot(0, self._drain)  # the rest after the event loop had its turn
                return
