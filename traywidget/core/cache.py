"""The last known snapshot of every account, so the tray shows numbers at once.

Loaded snapshots are marked stale until the first poll confirms them. The
cache is a convenience: an unreadable file is ignored (and overwritten on the
next save), never an error.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from traywidget.core.paths import atomic_write, cache_dir
from traywidget.model import Snapshot

log = logging.getLogger(__name__)
CACHE_FILE = "snapshots.json"


@dataclass
class SnapshotCache:
    directory: Path = field(default_factory=cache_dir)

    @property
    def path(self) -> Path:
        return self.directory / CACHE_FILE

    def load(self) -> list[Snapshot]:
        for orphan in self.directory.glob(f".{CACHE_FILE}.*.tmp"):  # left by a save killed midway
            try:
                orphan.unlink()
            except OSError:
                pass
        try:
            data = json.loads(self.path.read_text("utf-8"))
            return [Snapshot.from_json(item).with_changes(stale=True) for item in data["accounts"]]
        except FileNotFoundError:
            return []
        # Any content at all may be here (a disk error, a hand edit, another
        # version): whatever it is, the cache is only a convenience.
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            log.warning("Ignoring unreadable snapshot cache %s (%s)", self.path, type(exc).__name__)
            return []

    def save(self, snapshots: Iterable[Snapshot]) -> None:
        payload = {"accounts": [s.to_json(markers=True) for s in snapshots]}
        try:
            atomic_write(self.path, json.dumps(payload).encode("utf-8"))
        except OSError as exc:
            log.warning("Could not write the snapshot cache %s (%s)", self.path, exc.strerror)
