"""The records of the simulated world: plans, users, keys, accounts, streams.

Plain dataclasses with no behaviour beyond derived fields; the Simulator in
state.py owns them and does all locking and counting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from traywidget.simulator.windows import PeriodCounter, RollingCounter

ROUTING = "routing.run"
OPENROUTER = "openrouter"
ROUTEWAY = "routeway"
PROVIDERS = (ROUTING, OPENROUTER, ROUTEWAY)

DEFAULT_MODEL = {ROUTING: "gpt-4o-mini", OPENROUTER: "openai/gpt-4o-mini", ROUTEWAY: "deepseek-r1:free"}
DEFAULT_COST_USD = 0.002


@dataclass(frozen=True)
class Plan:
    """routing.run plan; per_hour None means no hourly cap (Lite)."""

    name: str
    per_day: int
    per_hour: int | None
    per_minute: int
    streams: int


PLANS: dict[str, Plan] = {p.name: p for p in (
    Plan("Free", 50, 50, 100, 50),
    Plan("Lite", 500, None, 100, 50),
    Plan("Weekly", 1800, 500, 100, 50),
    Plan("Premium", 1500, 500, 100, 50),
    Plan("Max", 3000, 1000, 100, 50),
    Plan("Ultra", 10000, 1500, 100, 50),
)}

OPENROUTER_FREE_RPM = 20
ROUTEWAY_MGMT_RPM = {"keys": 60, "balance": 120}


@dataclass(frozen=True)
class Denial:
    """Why a request was refused. kind: daily|hourly|minute|concurrent (routing.run),
    minute|day (free-model windows), payment, key_limit."""

    kind: str
    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None
    # Routeway: both windows for the X-RateLimit-*-Minute/Day headers.
    windows: dict[str, tuple[int, int, datetime]] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestRecord:
    time: datetime
    provider: str
    path: str
    method: str
    key: str | None
    headers: dict[str, str]
    has_origin: bool
    has_referer: bool


# Header values worth keeping in the log; never the credentials themselves.
LOGGED_HEADERS = ("user-agent", "accept", "content-type", "origin", "referer",
                  "http-referer", "x-title", "accept-encoding")


@dataclass
class RoutingUser:
    id: str
    plan: Plan
    day: PeriodCounter = field(default_factory=lambda: PeriodCounter("day"))
    hour: PeriodCounter = field(default_factory=lambda: PeriodCounter("hour"))
    minute: RollingCounter = field(default_factory=RollingCounter)
    stop_token: int = 0


@dataclass
class OpenRouterAccount:
    id: str
    total_credits: float
    total_usage: float
    free_requests_field: bool = True  # report free_model_daily_requests or not
    free_day: PeriodCounter = field(default_factory=lambda: PeriodCounter("day"))
    free_minute: RollingCounter = field(default_factory=RollingCounter)

    @property
    def free_daily_limit(self) -> int:
        return 1000 if self.total_credits >= 10 else 50


@dataclass
class OpenRouterKey:
    key: str
    account: OpenRouterAccount
    label: str
    limit: float | None = None
    limit_reset: str | None = None
    is_management_key: bool = False
    include_byok_in_limit: bool = False
    expires_at: str | None = None
    usage: float = 0.0
    usage_daily: PeriodCounter = field(default_factory=lambda: PeriodCounter("day"))
    usage_weekly: PeriodCounter = field(default_factory=lambda: PeriodCounter("week"))
    usage_monthly: PeriodCounter = field(default_factory=lambda: PeriodCounter("month"))


@dataclass
class RoutewayAccount:
    id: str
    balance: float
    legacy_errors: bool = False  # answer 429s in the older FAQ body form
    mgmt_limits: bool = True  # enforce the management endpoints' own limits
    keys: list[RoutewayKey] = field(default_factory=list)


@dataclass
class RoutewayKey:
    api_key_id: int
    key: str
    account: RoutewayAccount
    label: str
    daily_limit: int
    minute_limit: int
    created_at: datetime
    mask_prefix: int = 8
    use_subs_first: bool = False
    fallback_to_payg: bool = True
    last_used_at: datetime | None = None
    usage_today: PeriodCounter = field(default_factory=lambda: PeriodCounter("day"))
    usage_minute: PeriodCounter = field(default_factory=lambda: PeriodCounter("minute"))

    @property
    def masked(self) -> str:
        return f"{self.key[:self.mask_prefix]}...{self.key[-4:]}"


@dataclass
class StreamHandle:
    id: int
    provider: str
    key: str
    owner: str  # routing.run user id / account id: what the stop token belongs to
    model: str
    max_tokens: int
    token: int = 0
    kill_requested: bool = False
    internal: bool = False


@dataclass
class Traffic:
    rate_per_min: float
    last: datetime
    carry: float = 0.0


@dataclass
class Job:
    interval_s: float
    fn: Callable[[Any], None]  # called with the Simulator that runs the job
    next_at: datetime


def iso_z(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def usd(value: float) -> float:
    return round(value, 6)
