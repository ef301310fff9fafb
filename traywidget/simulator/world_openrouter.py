"""The simulated world of OpenRouter: keys with credit limits, the account's credits, free models'
per-minute and per-day windows.

A part of Simulator (world.py), which holds the lock and the state every part reads."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from traywidget.simulator.records import (
    OPENROUTER,
    OPENROUTER_FREE_RPM,
    Denial,
    OpenRouterAccount,
    OpenRouterKey,
    usd,
)
from traywidget.simulator.world_state import WorldState


class OpenRouterWorld(WorldState):
    def add_openrouter_key(self, *, label: str = "sim key", limit: float | None = None,
                           limit_reset: str | None = None, total_credits: float = 20.0,
                           total_usage: float = 0.0, free_requests_field: bool = True,
                           same_account_as: str | None = None, key: str | None = None,
                           management: bool = False) -> str:
        with self._lock:
            if same_account_as is not None:
                account = self._or_keys[same_account_as].account
            else:
                account = OpenRouterAccount(f"or-{next(self._ids)}", total_credits, total_usage,
                                            free_requests_field)
            key = self._register(key, OPENROUTER, lambda: "sk-or-v1-" + secrets.token_hex(32))
            self._or_keys[key] = OpenRouterKey(key, account, label, limit, limit_reset,
                                               is_management_key=management)
            return key

    def _or_limit_used(self, record: OpenRouterKey, now: datetime) -> float:
        period = {"daily": record.usage_daily, "weekly": record.usage_weekly,
                  "monthly": record.usage_monthly}.get(record.limit_reset or "")
        return period.value(now) if period else record.usage

    def openrouter_key_info(self, key: str) -> dict[str, Any]:
        with self._lock:
            record, now = self._or_keys[key], self.now()
            account = record.account
            remaining = None
            if record.limit is not None:
                remaining = usd(max(0.0, record.limit - self._or_limit_used(record, now)))
            data: dict[str, Any] = {
                "label": record.label,
                "limit": record.limit,
                "limit_reset": record.limit_reset,
                "limit_remaining": remaining,
                "include_byok_in_limit": record.include_byok_in_limit,
                "usage": usd(record.usage),
                "usage_daily": usd(record.usage_daily.value(now)),
                "usage_weekly": usd(record.usage_weekly.value(now)),
                "usage_monthly": usd(record.usage_monthly.value(now)),
                "byok_usage": 0, "byok_usage_daily": 0, "byok_usage_weekly": 0, "byok_usage_monthly": 0,
                "is_free_tier": account.total_credits <= 0,
                "is_management_key": record.is_management_key,
                "expires_at": record.expires_at,
                "rate_limit": {"requests": -1, "interval": "10s", "note": "deprecated"},
            }
            if account.free_requests_field:
                used = int(account.free_day.value(now))
                limit = account.free_daily_limit
                data["free_model_daily_requests"] = {"limit": limit, "remaining": max(0, limit - used),
                                                     "used": used}
            return {"data": data}

    def openrouter_credits(self, key: str) -> dict[str, Any]:
        with self._lock:
            account = self._or_keys[key].account
            return {"data": {"total_credits": usd(account.total_credits),
                             "total_usage": usd(account.total_usage)}}

    def _admit_openrouter(self, key: str, model: str, cost: float) -> Denial | None:
        record, now = self._or_keys[key], self.now()
        account = record.account
        balance = account.total_credits - account.total_usage
        free = model.endswith(":free")
        if balance < 0 or (not free and balance <= 0):
            return Denial("payment")
        if free:
            for kind, limit, counter in (("minute", OPENROUTER_FREE_RPM, account.free_minute),
                                         ("day", account.free_daily_limit, account.free_day)):
                used = counter.value(now)
                if used >= limit:
                    return Denial(kind, limit, 0, counter.resets_at(now))
            account.free_minute.add(now)
            account.free_day.add(now)
            return None
        if record.limit is not None and self._or_limit_used(record, now) >= record.limit:
            return Denial("key_limit")
        record.usage += cost
        for counter in (record.usage_daily, record.usage_weekly, record.usage_monthly):
            counter.add(now, cost)
        account.total_usage += cost
        return None
