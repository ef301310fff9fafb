"""Holds: the user's decision that the gateway refuse an account's new requests, written down.

One small JSON file (holds.json in the config directory, 0600, written atomically) is the
truth for every process: the tray's gateway, a headless `traywidget gateway`, `traywidget
kill --hold`, `traywidget resume` and `status` all read and write it through HoldBook. A
gateway looks at the file's stamp before each request, so a hold or a resume written by
another process takes effect on the very next request, and a hold outlives a restart.
A hold with an end time ends by itself (it is simply no longer active); expired entries
are dropped on the next write.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from traywidget.model import Hold, utcnow
from traywidget.store.paths import atomic_write, config_dir
from traywidget.store.store_lock import StoreBusy, file_stamp, store_lock

log = logging.getLogger(__name__)

HOLDS_FILE = "holds.json"
# Every change reads the file again and writes it under a lock of the holds' own, so two gateways (or a
# gateway and a command) never lose each other's holds. It is held for one read and one write only, never
# while a keyring answers, so a gateway's loop waits on it for milliseconds at most.
HOLDS_LOCK_FILE = "holds.lock"
LOCK_WAIT_S = 2.0


class HoldBook:
    def __init__(self, path: Path | None = None, now: Callable[[], datetime] = utcnow) -> None:
        self.path = path if path is not None else config_dir() / HOLDS_FILE
        self._now = now
        self._holds: dict[str, Hold] = {}
        self._stamp: tuple[int, int, int] | None = None
        self._read()

    # --- reading -----------------------------------------------------------------

    def active(self, account_id: str) -> Hold | None:
        """The account's hold if it holds now (the file is looked at again when it changed)."""
        self.refresh()
        hold = self._holds.get(account_id)
        return hold if hold is not None and hold.active(self._now()) else None

    def all_active(self) -> dict[str, Hold]:
        self.refresh()
        now = self._now()
        return {account_id: hold for account_id, hold in self._holds.items() if hold.active(now)}

    def refresh(self) -> bool:
        """Read the file again when another process changed it; True when it did."""
        if file_stamp(self.path) == self._stamp:
            return False
        self._read()
        return True

    # --- writing -----------------------------------------------------------------

    def hold(self, account_ids: Iterable[str], reason: str, minutes: float | None) -> dict[str, Hold]:
        """Hold these accounts for `minutes` (None: until resumed). A longer hold already in
        place is kept (a rail's one-hour hold does not shorten the user's "until I resume")."""
        self.refresh()
        now = self._now()
        until = None if minutes is None else now + timedelta(minutes=minutes)
        return self.hold_until(account_ids, reason, until)

    def hold_until(self, account_ids: Iterable[str], reason: str, until: datetime | None) -> dict[str, Hold]:
        with self._changing():
            now = self._now()
            set_now: dict[str, Hold] = {}
            for account_id in account_ids:
                current = self._holds.get(account_id)
                if current is not None and current.active(now) and _outlasts(current, until):
                    set_now[account_id] = current
                    continue
                set_now[account_id] = self._holds[account_id] = Hold(reason, now, until)
        return set_now

    def resume(self, account_ids: Iterable[str] | None = None) -> list[str]:
        """End the holds of these accounts (None: every account); the ids that were held."""
        with self._changing():
            now = self._now()
            chosen = set(self._holds) if account_ids is None else set(account_ids)
            resumed = sorted(a for a in chosen if a in self._holds and self._holds[a].active(now))
            for account_id in chosen:
                self._holds.pop(account_id, None)
        return resumed

    # --- the file ------------------------------------------------------------------

    @contextmanager
    def _changing(self) -> Iterator[None]:
        """The holds as the file has them now, to change; written when the block ends."""
        with ExitStack() as locked:
            try:
                locked.enter_context(store_lock(self.path.with_name(HOLDS_LOCK_FILE), timeout_s=LOCK_WAIT_S))
            except (StoreBusy, OSError) as exc:  # a stuck or unmakeable lock must not cost the user's hold
                log.warning("Changing the holds without their lock (%s)", type(exc).__name__)
            self.refresh()
            yield
            self._write()

    def _read(self) -> None:
        self._stamp = file_stamp(self.path)
        if self._stamp is None:
            self._holds = {}
            return
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError) as exc:
            # Unreadable: nothing is held (refusing every request on a broken file would be worse)
            # and the next hold or resume writes a good one.
            log.warning("Cannot read %s (%s): no account is held", self.path, type(exc).__name__)
            self._holds = {}
            return
        entries = data.get("holds") if isinstance(data, dict) else None
        holds: dict[str, Hold] = {}
        for account_id, entry in (entries.items() if isinstance(entries, dict) else ()):
            hold = Hold.from_json(entry)
            if hold is not None:
                holds[str(account_id)] = hold
        self._holds = holds

    def _write(self) -> None:
        now = self._now()
        self._holds = {a: h for a, h in self._holds.items() if h.active(now)}
        payload = {"holds": {a: h.to_json() for a, h in sorted(self._holds.items())}}
        atomic_write(self.path, (json.dumps(payload, indent=2) + "\n").encode())
        self._stamp = file_stamp(self.path)


def _outlasts(current: Hold, until: datetime | None) -> bool:
    if current.until is None:
        return True
    return until is not None and current.until >= until
