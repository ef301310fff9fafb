"""The values that flow from providers through the engine to the views.

Everything here is a frozen dataclass: safe to share between the engine, the
tray and the CLI, and trivially serialisable to the status JSON that
`traywidget status --json` documents as a stable interface.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from traywidget.model.scalars import clean_number, clean_signed_number, iso, parse_iso, round_down
from traywidget.model.spend import GatewayUsage, Hold
from traywidget.model.state import Freshness, Source, State, Unit

# Meter names are part of the documented JSON interface.
REQUESTS_MINUTE = "requests_minute"
REQUESTS_HOUR = "requests_hour"
REQUESTS_DAY = "requests_day"
FREE_REQUESTS_DAY = "free_requests_day"
CREDITS = "credits"
BALANCE = "balance"
# Windows seen only in traffic (rate-limit headers of any OpenAI-compatible
# provider), whose length the provider does not name.
REQUESTS_WINDOW = "requests"
TOKENS_WINDOW = "tokens"
INPUT_TOKENS_WINDOW = "input_tokens"
OUTPUT_TOKENS_WINDOW = "output_tokens"
# Windows whose length the provider names (Cerebras, DigitalOcean, Groq by host).
TOKENS_MINUTE = "tokens_minute"
TOKENS_HOUR = "tokens_hour"
TOKENS_DAY = "tokens_day"
# Anthropic subscription windows, in percent of the window left.
USAGE_5H = "usage_5h"
USAGE_7D = "usage_7d"
# A LiteLLM virtual key's spend against its max_budget; further budget windows are
# "budget_<duration>" ("budget_1d"), and balances in several currencies "balance_<code>".
BUDGET = "budget"
BUDGET_WINDOW_PREFIX = "budget_"
BALANCE_PREFIX = "balance_"


def is_balance(name: str) -> bool:
    """An account balance meter: "balance", or "balance_cny" where an account holds several currencies."""
    return name == BALANCE or name.startswith(BALANCE_PREFIX)

@dataclass(frozen=True)
class Meter:
    """One quota window or money amount.

    limit None means "no cap" (Lite's hourly window, an uncapped OpenRouter
    key). remaining None means "unknown" — the badge then shows "?" rather
    than guess. `estimated` marks values that are documented defaults rather
    than numbers the provider reported (OpenRouter's 50/1000 free cap), and
    `approximate_reset` marks a reset time inferred rather than documented.
    """

    name: str
    unit: Unit
    used: float | None = None
    limit: float | None = None
    remaining: float | None = None
    resets_at: datetime | None = None
    estimated: bool = False
    approximate_reset: bool = False
    # POLL: a usage endpoint said so; TRAFFIC: rate-limit headers on the user's
    # own request through the gateway said so, at `seen_at`.
    source: Source = Source.POLL
    seen_at: datetime | None = None
    # CURRENT as read; REFILLED or EXPIRED once its reset has passed with no newer reading.
    freshness: Freshness = Freshness.CURRENT

    @property
    def capped(self) -> bool:
        return self.limit is not None and self.limit > 0

    @property
    def fraction_left(self) -> float | None:
        """remaining / limit in [0, 1], or None when it cannot be known."""
        if not self.capped or self.remaining is None or self.limit is None:
            return None
        return max(0.0, min(1.0, self.remaining / self.limit))

    @property
    def percent_left(self) -> int | None:
        """Whole percent left, rounded down: 998 of 1,000 is 99, never 100."""
        fraction = self.fraction_left
        return None if fraction is None else int(round_down(fraction * 100))

    def to_json(self, markers: bool = False) -> dict[str, Any]:
        """The documented status-JSON shape; `markers` adds the estimate/"about"
        flags the local cache needs to show a meter exactly as it was."""
        data = {
            "name": self.name,
            "unit": self.unit.value,
            "used": _json_number(self.used, self.unit),
            "limit": _json_number(self.limit, self.unit),
            "remaining": _json_number(self.remaining, self.unit),
            "resets_at": iso(self.resets_at),
            "source": self.source.value,
            "seen_at": iso(self.seen_at),
            "freshness": self.freshness.value,
        }
        if markers:
            data["estimated"] = self.estimated
            data["approximate_reset"] = self.approximate_reset
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Meter:
        unit = Unit(data["unit"])
        number = clean_signed_number if unit.is_money else clean_number
        limit, remaining = number(data.get("limit")), number(data.get("remaining"))
        if limit is not None and remaining is not None and remaining > limit:
            remaining = None  # impossible: shown as unknown, never as a number
        return cls(
            name=str(data["name"]),
            unit=unit,
            used=number(data.get("used")),
            limit=limit,
            remaining=remaining,
            resets_at=parse_iso(data.get("resets_at")),
            estimated=bool(data.get("estimated", False)),
            approximate_reset=bool(data.get("approximate_reset", False)),
            source=Source(data["source"]) if data.get("source") in Source._value2member_map_ else Source.POLL,
            seen_at=parse_iso(data.get("seen_at")),
            freshness=Freshness(data["freshness"]) if data.get("freshness") in Freshness._value2member_map_
            else Freshness.CURRENT,
        )


def _json_number(value: float | None, unit: Unit) -> float | int | None:
    if value is None:
        return None
    if unit in (Unit.REQUESTS, Unit.TOKENS) and float(value).is_integer():
        return int(value)
    return round(value, 6)


@dataclass(frozen=True)
class ErrorInfo:
    """What went wrong on the last poll, in the provider's own words."""

    message: str
    http_status: int | None = None
    code: str | None = None
    retry_after_s: float | None = None
    # Which limit a 429 names when the body tells ("hourly", "daily",
    # "concurrent_streams", "minute", "ip"); None when it does not.
    limit_kind: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "http_status": self.http_status,
            "code": self.code,
            "message": self.message,
            "retry_after_s": None if self.retry_after_s is None else round(self.retry_after_s, 3),
            "limit_kind": self.limit_kind,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ErrorInfo:
        return cls(
            message=str(data.get("message") or ""),
            http_status=data.get("http_status") if isinstance(data.get("http_status"), int) else None,
            code=data.get("code") if isinstance(data.get("code"), str) else None,
            retry_after_s=clean_number(data.get("retry_after_s")),
            limit_kind=data.get("limit_kind") if isinstance(data.get("limit_kind"), str) else None,
        )


@dataclass(frozen=True)
class Snapshot:
    """Everything known about one account after a poll (or from the cache)."""

    account_id: str
    provider: str
    label: str
    state: State
    plan: str | None = None
    meters: tuple[Meter, ...] = ()
    error: ErrorInfo | None = None
    fetched_at: datetime | None = None
    # Plain-language remarks such as "usage needs a management key".
    notes: tuple[str, ...] = ()
    # True for values loaded from the cache and not yet confirmed by a poll.
    stale: bool = False
    supports_kill: bool = False
    # Streams open right now through the gateway; None where no gateway runs.
    streams: int | None = None
    # The gateway refuses this account's new requests (Kill with a hold, a guard rail); None: not held.
    hold: Hold | None = None
    # Today's traffic through the gateway; None where none is known.
    gateway_usage: GatewayUsage | None = None

    def meter(self, name: str) -> Meter | None:
        for meter in self.meters:
            if meter.name == name:
                return meter
        return None

    def with_changes(self, **changes: Any) -> Snapshot:
        return replace(self, **changes)

    def content_key(self) -> tuple:
        """What "this snapshot changed" means, everywhere (the engine's quiet
        slow-down, `watch`'s one line per change): state, plan, every meter's
        numbers and the error — not the fetch time."""
        meters = tuple((m.name, m.used, m.remaining, m.limit, m.freshness) for m in self.meters)
        usage = None if self.gateway_usage is None else self.gateway_usage.key()
        return (self.state, self.plan, meters, self.error, self.streams, self.hold, usage)

    def to_json(self, markers: bool = False) -> dict[str, Any]:
        return {
            "id": self.account_id,
            "provider": self.provider,
            "label": self.label,
            "state": self.state.value,
            "plan": self.plan,
            "meters": [meter.to_json(markers) for meter in self.meters],
            "error": None if self.error is None else self.error.to_json(),
            "fetched_at": iso(self.fetched_at),
            "notes": list(self.notes),
            "stale": self.stale,
            "streams": self.streams,
            "held_until": None if self.hold is None else self.hold.held_until_json(),
            "held_by": None if self.hold is None else self.hold.reason,
            "gateway_usage": None if self.gateway_usage is None else self.gateway_usage.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Snapshot:
        error = data.get("error")
        return cls(
            account_id=str(data["id"]),
            provider=str(data["provider"]),
            label=str(data.get("label") or data["id"]),
            state=State(data["state"]),
            plan=data.get("plan") if isinstance(data.get("plan"), str) else None,
            meters=tuple(Meter.from_json(m) for m in data.get("meters") or ()),
            error=ErrorInfo.from_json(error) if isinstance(error, dict) else None,
            fetched_at=parse_iso(data.get("fetched_at")),
            notes=tuple(str(n) for n in data.get("notes") or ()),
            stale=bool(data.get("stale", False)),
            # Not the hold nor the gateway's usage: the hold file and the usage book are their truth,
            # and a cached copy could show a hold the user has since resumed.
            streams=data["streams"] if type(data.get("streams")) is int and data["streams"] >= 0 else None,
        )


@dataclass(frozen=True)
class KillResult:
    account_id: str
    supported: bool
    killed_streams: int | None = None
    error: ErrorInfo | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.account_id,
            "supported": self.supported,
            "killed_streams": self.killed_streams,
            "error": None if self.error is None else self.error.to_json(),
        }


