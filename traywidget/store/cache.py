"""The last known snapshot of every account, so the tray shows numbers at once.

Loaded snapshots are marked stale until the first poll confirms them. The
cache is a convenience: an unreadable file is ignored (and overwritten on the
next save), never an error. Notes, plans and messages made by traywidget
itself (i18n Phrases) are kept with what they need to be said in the user's
language, not only in the English the status JSON has.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from traywidget.i18n.phrases import Localizable, from_data, to_data
from traywidget.model import Snapshot
from traywidget.store.paths import atomic_write, cache_dir, temp_files_of

log = logging.getLogger(__name__)
CACHE_FILE = "snapshots.json"


@dataclass
class SnapshotCache:
    directory: Path = field(default_factory=cache_dir)

    @property
    def path(self) -> Path:
        return self.directory / CACHE_FILE

    def load(self) -> list[Snapshot]:
        for orphan in temp_files_of(self.path):  # left by a save killed midway (one process writes the cache)
            try:
                orphan.unlink()
            except OSError:
                pass
        try:
            data = json.loads(self.path.read_text("utf-8"))
            return [_said_again(Snapshot.from_json(item).with_changes(stale=True), item.get("texts"))
                    for item in data["accounts"]]
        except FileNotFoundError:
            return []
        # Any content at all may be here (a disk error, a hand edit, another
        # version): whatever it is, the cache is only a convenience.
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            log.warning("Ignoring unreadable snapshot cache %s (%s)", self.path, type(exc).__name__)
            return []

    def save(self, snapshots: Iterable[Snapshot]) -> None:
        payload = {"accounts": [{**s.to_json(markers=True), **_texts(s)} for s in snapshots]}
        try:
            atomic_write(self.path, json.dumps(payload).encode("utf-8"))
        except OSError as exc:
            log.warning("Could not write the snapshot cache %s (%s)", self.path, exc.strerror)


def _texts(snapshot: Snapshot) -> dict[str, Any]:
    """{"texts": ...}: how to say the snapshot's own Phrases again, or {} when it has none."""
    texts: dict[str, Any] = {}
    if isinstance(snapshot.plan, Localizable):
        texts["plan"] = to_data(snapshot.plan)
    if snapshot.error is not None and isinstance(snapshot.error.message, Localizable):
        texts["error"] = to_data(snapshot.error.message)
    if any(isinstance(note, Localizable) for note in snapshot.notes):
        texts["notes"] = [to_data(note) for note in snapshot.notes]
    return {"texts": texts} if texts else {}


def _said_again(snapshot: Snapshot, texts: Any) -> Snapshot:
    if not isinstance(texts, dict):
        return snapshot
    changes: dict[str, Any] = {}
    if "plan" in texts and snapshot.plan is not None:
        changes["plan"] = from_data(texts["plan"], snapshot.plan)
    if "error" in texts and snapshot.error is not None:
        changes["error"] = replace(snapshot.error, message=from_data(texts["error"], snapshot.error.message))
    notes = texts.get("notes")
    if isinstance(notes, list) and len(notes) == len(snapshot.notes):
        changes["notes"] = tuple(from_data(data, note) for data, note in zip(notes, snapshot.notes))
    return snapshot.with_changes(**changes)
