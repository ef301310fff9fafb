"""A configured account and the alert thresholds: plain values, never a secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from traywidget.model.spend import Rails


@dataclass(frozen=True)
class Thresholds:
    """Fractions of a window left at which the account turns "low" and alerts fire."""

    levels: tuple[float, ...] = (0.20, 0.05)

    @property
    def low(self) -> float:
        return max(self.levels) if self.levels else 0.0


@dataclass(frozen=True)
class Account:
    """One configured account. Never holds a secret: keys live in the keyring."""

    id: str
    provider: str
    label: str
    base_url: str
    fast_interval_s: float | None = None
    full_interval_s: float | None = None
    # The User-Agent polls send instead of traywidget's own (None: traywidget's, see engine/http_client.py).
    user_agent: str | None = None
    # Guard rails on its traffic through the gateway (a reserve, a daily spend cap).
    rails: Rails = Rails()
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "provider": self.provider,
            "label": self.label,
            "base_url": self.base_url,
        }
        if self.fast_interval_s is not None:
            data["fast_interval_s"] = self.fast_interval_s
        if self.full_interval_s is not None:
            data["full_interval_s"] = self.full_interval_s
        if self.user_agent is not None:
            data["user_agent"] = self.user_agent
        if self.rails.reserve is not None:
            data["reserve"] = self.rails.reserve
            data["reserve_window"] = self.rails.reserve_window
        if self.rails.daily_cap is not None:
            data["daily_cap"] = self.rails.daily_cap
        return data
