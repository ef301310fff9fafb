"""Local usage history for the panel's last-24-hours sparklines. No Qt.

One sqlite3 file in the data/cache directory the caller passes in. WAL mode
with synchronous=NORMAL: a crash (even SIGKILL mid-write) loses at most the
last transaction, never the file. A file that is nonetheless unreadable is
moved aside and a fresh one started — history is a nicety, never a reason
for the app not to start.

At most one sample per account-meter per ``min_interval_s`` (5 min) is kept,
and samples older than ``keep_s`` (48 h) are pruned.

Beside them, one row per account and day of its traffic through the gateway (requests,
tokens, reported cost, stopped requests), kept ``GATEWAY_KEEP_DAYS``: what a day cost.

Written on the engine's thread (store/recorder.py), read by the panel on the
GUI thread: one connection shared by both, every use under one lock.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from traywidget.model import Freshness, Snapshot, UsageCount

log = logging.getLogger(__name__)

FILENAME = "history.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    account_id TEXT NOT NULL,
    meter      TEXT NOT NULL,
    ts         REAL NOT NULL,
    remaining  REAL,
    lim        REAL
);
CREATE INDEX IF NOT EXISTS samples_key_ts ON samples (account_id, meter, ts);
CREATE TABLE IF NOT EXISTS gateway_days (
    account_id      TEXT NOT NULL,
    day_start       REAL NOT NULL,
    requests        INTEGER NOT NULL,
    input_tokens    INTEGER NOT NULL,
    output_tokens   INTEGER NOT NULL,
    cost            REAL,
    currency        TEXT,
    cost_unreported INTEGER NOT NULL,
    stopped         INTEGER NOT NULL,
    PRIMARY KEY (account_id, day_start)
);
"""
GATEWAY_KEEP_DAYS = 90


def _locked(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


def _ts(moment: datetime | float | None) -> float:
    if moment is None:
        return time.time()
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    return float(moment)


def _private(path: Path) -> None:
    """Create the file 0600 before sqlite does (sqlite would make it 0644 under the usual umask, and
    gives its -wal and -shm files the main file's mode), like the config and the snapshots: usage
    figures are the user's business. A file made 0644 by an older version is narrowed too."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if hasattr(os, "fchmod"):  # not on Windows, whose files have no such mode bits
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


class HistoryStore:
    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        min_interval_s: float = 300.0,
        keep_s: float = 48 * 3600.0,
    ) -> None:
        self.directory = Path(directory)
        self.path = self.directory / FILENAME
        self.min_interval_s = min_interval_s
        self.keep_s = keep_s
        self._last: dict[tuple[str, str], float] = {}
        # (day start, when written) of each account's gateway row: written at most once per min_interval_s.
        self._last_gateway: dict[str, tuple[float, float]] = {}
        self._last_prune = 0.0
        self._db: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._open()

    # ------------------------------------------------------------ lifecycle
    def _connect(self) -> sqlite3.Connection:
        self.directory.mkdir(parents=True, exist_ok=True)
        _private(self.path)
        db = sqlite3.connect(self.path, timeout=2.0, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        db.execute("PRAGMA quick_check").fetchone()
        return db

    def _open(self) -> None:
        try:
            self._db = self._connect()
        except sqlite3.DatabaseError as exc:
            log.warning("usage history %s unreadable (%s); starting a new one", self.path, exc)
            self._move_aside()
            try:
                self._db = self._connect()
            except sqlite3.Error as exc2:  # pragma: no cover - disk full, read-only...
                log.warning("usage history disabled: %s", exc2)
                self._db = None
                return
        try:
            rows = self._db.execute(
                "SELECT account_id, meter, MAX(ts) FROM samples GROUP BY account_id, meter"
            ).fetchall()
            self._last = {(a, m): ts for a, m, ts in rows}
            self.prune()
        except sqlite3.Error as exc:  # pragma: no cover
            log.warning("usage history read failed: %s", exc)

    def _move_aside(self) -> None:
        stamp = int(time.time())
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                try:
                    src.replace(Path(f"{self.path}.corrupt-{stamp}{suffix}"))
                except OSError:
                    src.unlink(missing_ok=True)

    @_locked
    def close(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            finally:
                self._db = None

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- write
    @_locked
    def record(self, snapshot: Snapshot, now: datetime | float | None = None) -> int:
        """Keep a sample of every meter with a known remaining; returns how many were written."""
        if self._db is None or snapshot.stale:
            return 0
        self._record_gateway_day(snapshot)
        ts = _ts(now if now is not None else snapshot.fetched_at)
        rows = []
        for meter in snapshot.meters:
            if meter.remaining is None or meter.freshness is not Freshness.CURRENT:
                continue  # unknown, or an estimate after its reset: not something that was read
            key = (snapshot.account_id, meter.name)
            last = self._last.get(key)
            if last is not None and ts - last < self.min_interval_s and ts >= last:
                continue
            rows.append((snapshot.account_id, meter.name, ts, meter.remaining, meter.limit))
        written = self.add_samples(rows)
        if written and ts - self._last_prune > 600:
            self.prune(ts)
        return written

    def _record_gateway_day(self, snapshot: Snapshot) -> None:
        """Today's gateway traffic of the account, when it changed (one row per day, replaced)."""
        usage = snapshot.gateway_usage
        if self._db is None or usage is None or not usage.total.requests:
            return
        day, now = usage.since.timestamp(), time.monotonic()
        last = self._last_gateway.get(snapshot.account_id)
        if last is not None and last[0] == day and now - last[1] < self.min_interval_s:
            return  # a busy gateway publishes a snapshot per request: the day's row needs no more
        t = usage.total
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO gateway_days VALUES (?,?,?,?,?,?,?,?,?)",
                (snapshot.account_id, day, t.requests, t.input_tokens, t.output_tokens, t.cost,
                 t.currency, t.cost_unreported, t.stopped))
        except sqlite3.Error as exc:
            log.warning("usage history write failed: %s", exc)
            return
        self._last_gateway[snapshot.account_id] = (day, now)

    @_locked
    def add_samples(self, rows: list[tuple[str, str, float, float, float | None]]) -> int:
        """Write (account_id, meter, unix ts, remaining, limit) rows in one transaction."""
        if self._db is None or not rows:
            return 0
        try:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT INTO samples (account_id, meter, ts, remaining, lim) VALUES (?,?,?,?,?)",
                    rows,
                )
        except sqlite3.Error as exc:
            log.warning("usage history write failed: %s", exc)
            return 0
        for account_id, meter, row_ts, *_ in rows:
            key = (account_id, meter)
            self._last[key] = max(row_ts, self._last.get(key, row_ts))
        return len(rows)

    @_locked
    def prune(self, now: datetime | float | None = None) -> None:
        if self._db is None:
            return
        ts = _ts(now)
        self._last_prune = ts
        try:
            self._db.execute("DELETE FROM samples WHERE ts < ?", (ts - self.keep_s,))
            self._db.execute("DELETE FROM gateway_days WHERE day_start < ?", (ts - GATEWAY_KEEP_DAYS * 86400.0,))
        except sqlite3.Error as exc:  # pragma: no cover
            log.warning("usage history prune failed: %s", exc)

    @_locked
    def forget(self, account_id: str) -> None:
        if self._db is None:
            return
        self._db.execute("DELETE FROM samples WHERE account_id = ?", (account_id,))
        self._db.execute("DELETE FROM gateway_days WHERE account_id = ?", (account_id,))
        self._last_gateway.pop(account_id, None)
        self._last = {k: v for k, v in self._last.items() if k[0] != account_id}

    # ----------------------------------------------------------------- read
    @_locked
    def series(
        self, account_id: str, meter: str, since: datetime | float
    ) -> list[tuple[float, float]]:
        """[(unix ts, remaining)] oldest first, for samples at or after `since`."""
        if self._db is None:
            return []
        try:
            rows = self._db.execute(
                "SELECT ts, remaining FROM samples WHERE account_id=? AND meter=? AND ts>=? "
                "AND remaining IS NOT NULL ORDER BY ts",
                (account_id, meter, _ts(since)),
            ).fetchall()
        except sqlite3.Error as exc:
            log.warning("usage history read failed: %s", exc)
            return []
        return [(float(t), float(r)) for t, r in rows]

    @_locked
    def gateway_days(self, account_id: str, since: datetime | float) -> list[tuple[datetime, UsageCount]]:
        """[(start of the local day, its gateway traffic)] oldest first, for days starting at or after `since`."""
        if self._db is None:
            return []
        try:
            rows = self._db.execute(
                "SELECT day_start, requests, input_tokens, output_tokens, cost, currency, cost_unreported, stopped "
                "FROM gateway_days WHERE account_id=? AND day_start>=? ORDER BY day_start",
                (account_id, _ts(since))).fetchall()
        except sqlite3.Error as exc:
            log.warning("usage history read failed: %s", exc)
            return []
        return [(datetime.fromtimestamp(day, UTC).astimezone(), UsageCount(*numbers))
                for day, *numbers in rows]

    @_locked
    def count(self) -> int:
        if self._db is None:
            return 0
        return int(self._db.execute("SELECT COUNT(*) FROM samples").fetchone()[0])
