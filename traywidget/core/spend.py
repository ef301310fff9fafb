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
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

from traywidget.core.paths import atomic_write, cache_dir
from traywidget.model import GatewayUsage, RequestUsage, utcnow

log = logging.getLogger(__name__)

USAGE_FILE = "gateway-usage.json"


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
        self._read()

    def record(self, account_id: str, usage: RequestUsage) -> GatewayUsage:
        """Count one request; the account's totals for today."""
        self._roll_over()
        current = self._usage.get(account_id) or GatewayUsage(self._since)
        self._usage[account_id] = updated = current.plus(usage)
        self._write()
        return updated

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
        try:
            atomic_write(self.path, json.dumps(payload).encode())
        except OSError as exc:  # the figures stay in memory; the traffic is never affected
            log.warning("Cannot write %s: %s", self.path, exc)
