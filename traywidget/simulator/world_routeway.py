"""The simulated world of Routeway: API keys with daily and per-minute windows, management keys, the balance.

A part of Simulator (world.py), which holds the lock and the state every part reads."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from traywidget.simulator.records import (
    ROUTEWAY,
    ROUTEWAY_MGMT_RPM,
    Denial,
    RoutewayAccount,
    RoutewayKey,
    iso_z,
    usd,
)
from traywidget.simulator.windows import (
    RollingCounter,
)
from traywidget.simulator.world_state import WorldState


class RoutewayWorld(WorldState):
    def add_routeway_key(self, *, label: str = "sim key", daily_limit: int = 200,
                         minute_limit: int = 5, balance: float = 4.20,
                         same_account_as: str | None = None, key: str | None = None,
                         mask_prefix: int = 8, legacy_errors: bool = False) -> str:
        with self._lock:
            if same_account_as is not None:
                account = self._rw_account(same_account_as)
            else:
                account = RoutewayAccount(f"rw-{next(self._ids)}", balance, legacy_errors)
            key = self._register(key, ROUTEWAY, lambda: "sk-" + secrets.token_hex(24))
            row = RoutewayKey(next(self._ids), key, account, label, daily_limit, minute_limit,
                              created_at=self.now(), mask_prefix=mask_prefix)
            account.keys.append(row)
            self._rw_keys[key] = row
            return key

    def _rw_account(self, key: str) -> RoutewayAccount:
        return self._rw_keys[key].account if key in self._rw_keys else self._rw_mgmt[key]

    def _rw_row(self, row: RoutewayKey, now: datetime) -> dict[str, Any]:
        return {
            "api_key_id": row.api_key_id, "key": row.masked, "created_at": iso_z(row.created_at),
            "label": row.label, "daily_limit": row.daily_limit, "minute_limit": row.minute_limit,
            "balance": usd(row.account.balance), "usage_today": int(row.usage_today.value(now)),
            "usage_minute": int(row.usage_minute.value(now)), "last_used_at": iso_z(row.last_used_at),
            "use_subs_first": row.use_subs_first, "fallback_to_payg": row.fallback_to_payg,
        }

    def routeway_keys(self, mgmt_key: str) -> dict[str, Any]:
        with self._lock:
            now = self.now()
            return {"data": [self._rw_row(row, now) for row in self._rw_mgmt[mgmt_key].keys]}

    def routeway_key(self, mgmt_key: str, api_key_id: int) -> dict[str, Any] | None:
        with self._lock:
            for row in self._rw_mgmt[mgmt_key].keys:
                if row.api_key_id == api_key_id:
                    return {"data": self._rw_row(row, self.now())}
            return None

    def routeway_balance(self, mgmt_key: str) -> dict[str, Any]:
        with self._lock:
            return {"balance": usd(self._rw_mgmt[mgmt_key].balance)}

    def routeway_api_key_id(self, key: str) -> int:
        with self._lock:
            return self._rw_keys[key].api_key_id

    def routeway_mgmt_admit(self, mgmt_key: str, endpoint: str) -> Denial | None:
        """Routeway's own limits on the management endpoints (keys 60/min, balance 120/min)."""
        with self._lock:
            if not self._rw_mgmt[mgmt_key].mgmt_limits:
                return None
            window = self._rw_mgmt_windows.setdefault((mgmt_key, endpoint), RollingCounter())
            now, limit = self.now(), ROUTEWAY_MGMT_RPM[endpoint]
            if window.value(now) >= limit:
                reset = window.resets_at(now)
                return Denial("minute", limit, 0, reset, {"minute": (limit, 0, reset)})
            window.add(now)
            return None

    def routeway_windows(self, key: str) -> dict[str, tuple[int, int, datetime]]:
        """Minute and day windows of a Routeway key, for the X-RateLimit-* headers."""
        with self._lock:
            row, now = self._rw_keys[key], self.now()
            return {
                "minute": (row.minute_limit, max(0, row.minute_limit - int(row.usage_minute.value(now))),
                           row.usage_minute.resets_at(now)),
                "day": (row.daily_limit, max(0, row.daily_limit - int(row.usage_today.value(now))),
                        row.usage_today.resets_at(now)),
            }

    def _admit_routeway(self, key: str, model: str, cost: float) -> Denial | None:
        # Counters count every request of the key; only :free models are refused at the limits.
        row, now = self._rw_keys[key], self.now()
        if model.endswith(":free"):
            for kind, limit, counter in (("minute", row.minute_limit, row.usage_minute),
                                         ("day", row.daily_limit, row.usage_today)):
                if counter.value(now) >= limit:
                    return Denial(kind, limit, 0, counter.resets_at(now), self.routeway_windows(key))
        elif row.account.balance <= 0:
            return Denial("payment")
        else:
            row.account.balance -= cost
        row.usage_minute.add(now)
        row.usage_today.add(now)
        row.last_used_at = now
        return None
