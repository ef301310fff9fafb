"""Today's traffic through the gateway, per account and model: what the provider said each
request used and cost, added up from the start of the local day.

Kept in gateway-usage.json in the cache directory (0600, atomic), so a restart of the tray or
of a headless gateway does not forget what today already cost (a daily cap depends on it),
and `traywidget status` in another process reads the same figures. A new local day starts
from zero.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from traywidget.model import GatewayUsage, RequestUsage, utcnow
from traywidget.store.paths import atomic_write, cache_dir
from traywidget.store.store_lock import file_stamp

log = logging.getLogger(__name__)

USAGE_FILE = "gateway-usage.json"
# The file is written at most this often while traffic flows (each write is fsynced: a busy gateway
# must not spend its loop on the disk); `flush` writes what is left.
WRITE_EVERY_S = 1.0


def start_of_day(now: datetime) -> datetime:
    """The local midnight that began the day `now` is in (aware; the machine's time zone)."""
    local = now.astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def next_midnight(now: datetime) -> datetime:
    """The local midnight that ends the day `now` is in (a DST day is 23 or 25 hours long)."""
    day = start_of_day(now)
    following = (day + timedelta(days=1, hours=3)).replace(hour=0)
    return following.astimezone().replace(hour=0, minute=0, second=0, microsecond=0)


class SpendBook:
    def __init__(self, path: Path | None = None, now: Callable[[], datetime] = utcnow) -> None:
        self.path = path if path is not None else cache_dir() / USAGE_FILE
        self._now = now
        self._since = start_of_day(now())
        self._usage: dict[str, GatewayUsage] = {}
        self._dirty = False
        self._written_at = -WRITE_EVERY_S
        self._stamp: tuple[int, int, int] | None = None
        self._read()

    def record(self, account_id: str, usage: RequestUsage) -> GatewayUsage:
        """Count one request; the account's totals for today (written to the file within WRITE_EVERY_S)."""
        self._roll_over()
        current = self._usage.get(account_id) or GatewayUsage(self._since)
        self._usage[account_id] = updated = current.plus(usage)
        self._dirty = True
        if time.monotonic() - self._written_at >= WRITE_EVERY_S:
            self.flush()
        return updated

    def flush(self) -> None:
        """Write what was counted since the last write."""
        if self._dirty:
            self._write()

    def refresh(self) -> bool:
        """Read the file again when another process (the gateway) wrote it; True when it did."""
        stamp = file_stamp(self.path)
        if stamp == self._stamp:
            return False
        self._usage = {}
        self._read()
        return True

    def today(self, account_id: str) -> GatewayUsage:
        """The account's totals for today (zero when it sent nothing through the gateway)."""
        self._roll_over()
        return self._usage.get(account_id) or GatewayUsage(self._since)

    def all_today(self) -> dict[str, GatewayUsage]:
        self._roll_over()
        return dict(self._usage)

    def _roll_over(self) -> None:
        day = start_of_day(self._now())
        if day != self._since:
            self._since, self._usage = day, {}

    def _read(self) -> None:
        self._stamp = file_stamp(self.path)
        try:
            data = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("Cannot read %s (%s): today's gateway usage starts from zero", self.path, type(exc).__name__)
            return
        accounts = data.get("accounts") if isinstance(data, dict) else None
        for account_id, entry in (accounts.items() if isinstance(accounts, dict) else ()):
            usage = GatewayUsage.from_json(entry)
            if usage is not None and usage.since == self._since:  # another day's figures are not today's
                self._usage[str(account_id)] = usage

    def _write(self) -> None:
        payload = {"accounts": {a: u.to_json() for a, u in sorted(self._usage.items())}}
        self._dirty, self._written_at = False, time.monotonic()
        try:
            atomic_write(self.path, json.dumps(payload).encode())
        except OSError as exc:  # the figures stay in memory; the traffic is never affected
            log.warning("Cannot write %s: %s", self.path, exc)
        self._stamp = file_stamp(self.path)
