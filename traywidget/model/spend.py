"""Holds and spend: an account's requests held by traywidget, and what its traffic through
the gateway used and cost today. Plain values; the status JSON shapes are documented in
docs/hold-and-spend.md and read by scripts (and the metrics exporter), so they are stable.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from traywidget.model.scalars import clean_number, iso, parse_iso

# Why an account is held.
HOLD_KILL = "kill"  # Kill all streams with a hold
HOLD_RESERVE = "reserve"  # fewer requests left in a window than the account's reserve
HOLD_DAILY_CAP = "daily_cap"  # today's spend through the gateway reached the account's cap
HOLD_REASONS = (HOLD_KILL, HOLD_RESERVE, HOLD_DAILY_CAP)
# `held_until` of an account held until the user resumes.
UNTIL_RESUME = "resume"
# The windows a reserve can watch.
RESERVE_WINDOWS = ("minute", "hour", "day")


@dataclass(frozen=True)
class Hold:
    """The gateway refuses the account's new requests from `since` until `until` (None: until resumed)."""

    reason: str
    since: datetime
    until: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.until is None or now < self.until

    def held_until_json(self) -> str:
        """`held_until` in the status JSON: an ISO time, or "resume"."""
        moment = iso(self.until)
        return UNTIL_RESUME if moment is None else moment

    def to_json(self) -> dict[str, Any]:
        return {"reason": self.reason, "since": iso(self.since), "until": iso(self.until)}

    @classmethod
    def from_json(cls, data: Any) -> Hold | None:
        """The hold in `data`, or None when it is not one (a hand edit, another version)."""
        if not isinstance(data, dict) or data.get("reason") not in HOLD_REASONS:
            return None
        since = parse_iso(data.get("since"))
        until = parse_iso(data.get("until"))
        if since is None or (data.get("until") is not None and until is None):
            return None
        return cls(str(data["reason"]), since, until)


@dataclass(frozen=True)
class RequestUsage:
    """What one request through the gateway used, as far as the provider said.

    Tokens and cost are None when the answer did not report them (never guessed);
    `stopped` marks a request stopped by Kill all streams (its figures are partial)."""

    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: float | None = None
    currency: str | None = None
    stopped: bool = False


@dataclass(frozen=True)
class UsageCount:
    """Totals over many requests. `cost` sums the costs that were reported (None: none was);
    `cost_unreported` counts the requests whose cost the provider did not report."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    currency: str | None = None
    cost_unreported: int = 0
    stopped: int = 0

    def plus(self, one: RequestUsage) -> UsageCount:
        cost, currency = self.cost, self.currency
        if one.cost is not None:
            cost = (cost or 0.0) + one.cost
            currency = currency or one.currency
        return replace(
            self,
            requests=self.requests + 1,
            input_tokens=self.input_tokens + (one.input_tokens or 0),
            output_tokens=self.output_tokens + (one.output_tokens or 0),
            cost=cost,
            currency=currency,
            cost_unreported=self.cost_unreported + (1 if one.cost is None else 0),
            stopped=self.stopped + (1 if one.stopped else 0),
        )

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost": None if self.cost is None else round(self.cost, 8),
            "currency": self.currency,
            "cost_unreported": self.cost_unreported,
            "stopped": self.stopped,
        }

    @classmethod
    def from_json(cls, data: Any) -> UsageCount:
        if not isinstance(data, dict):
            return cls()

        def count(name: str) -> int:
            value = clean_number(data.get(name))
            return int(value) if value is not None else 0

        currency = data.get("currency")
        return cls(count("requests"), count("input_tokens"), count("output_tokens"), clean_number(data.get("cost")),
                   currency if isinstance(currency, str) else None, count("cost_unreported"), count("stopped"))


@dataclass(frozen=True)
class GatewayUsage:
    """An account's traffic through the gateway since `since` (the start of the local day)."""

    since: datetime
    total: UsageCount = UsageCount()
    models: dict[str, UsageCount] = field(default_factory=dict, compare=True, hash=False)

    def plus(self, one: RequestUsage) -> GatewayUsage:
        models = dict(self.models)
        name = one.model or "unknown"
        models[name] = models.get(name, UsageCount()).plus(one)
        return GatewayUsage(self.since, self.total.plus(one), models)

    def to_json(self) -> dict[str, Any]:
        return {"since": iso(self.since), **self.total.to_json(),
                "models": {name: count.to_json() for name, count in sorted(self.models.items())}}

    @classmethod
    def from_json(cls, data: Any) -> GatewayUsage | None:
        if not isinstance(data, dict):
            return None
        since = parse_iso(data.get("since"))
        if since is None:
            return None
        models = data.get("models")
        return cls(since, UsageCount.from_json(data),
                   {str(k): UsageCount.from_json(v) for k, v in models.items()} if isinstance(models, dict) else {})

    def key(self) -> tuple:
        return (self.since, self.total)


@dataclass(frozen=True)
class Rails:
    """An account's guard rails: hold its gateway traffic when fewer than `reserve` requests are
    left in its `reserve_window`, or when today's spend through the gateway reaches `daily_cap`."""

    reserve: int | None = None
    reserve_window: str = "hour"
    daily_cap: float | None = None

    @property
    def any(self) -> bool:
        return self.reserve is not None or self.daily_cap is not None

    def to_json(self) -> dict[str, Any]:
        return {"reserve": self.reserve, "reserve_window": self.reserve_window, "daily_cap": self.daily_cap}
