"""The records of the simulated world: plans, users, keys, accounts, streams.

Plain dataclasses with no behaviour beyond derived fields; the Simulator in
world.py owns them and does all locking and counting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from traywidget.simulator.scripts import DEFAULT_SCRIPT, StreamScript
from traywidget.simulator.windows import PeriodCounter, RollingCounter, TokenBucket

ROUTING = "routing.run"
OPENROUTER = "openrouter"
ROUTEWAY = "routeway"
# Any OpenAI-compatible provider with no usage endpoint (OpenAI, Groq, DeepSeek...):
# its limits show only in the x-ratelimit-* / anthropic-ratelimit-* headers.
OPENAI_COMPATIBLE = "openai-compatible"
PROVIDERS = (ROUTING, OPENROUTER, ROUTEWAY, OPENAI_COMPATIBLE)

DEFAULT_MODEL = {ROUTING: "gpt-4o-mini", OPENROUTER: "openai/gpt-4o-mini", ROUTEWAY: "deepseek-r1:free",
                 OPENAI_COMPATIBLE: "gpt-4o-mini"}
DEFAULT_COST_USD = 0.002
PROMPT_TOKENS = 12  # what every simulated prompt counts as
PLAIN_ANSWER_TOKENS = 8  # a non-streamed answer: at most eight words, a token each


def request_tokens(completion_tokens: int) -> int:
    """Tokens one request spends: the prompt plus what it generates."""
    return PROMPT_TOKENS + completion_tokens


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


# A limit window as the rate-limit headers report it: (limit, remaining, reset_at).
Window = tuple[int, int, datetime]


@dataclass(frozen=True)
class Denial:
    """Why a request was refused. kind: daily|hourly|minute|concurrent (routing.run),
    minute|day (free-model windows), requests|tokens (openai-compatible), upstream
    (an OpenRouter upstream's 429), payment, key_limit."""

    kind: str
    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None
    # Routeway / openai-compatible: every window of the key, for the rate-limit headers.
    windows: dict[str, Window] = field(default_factory=dict)


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
                  "http-referer", "x-title", "accept-encoding", "anthropic-version")

STREAM_DENIALS = ("status", "sse")

# The limits a scripted mid-stream 429 can name, per provider (the first is the default).
STREAM_ERRORS = {
    ROUTING: ("hourly", "daily", "minute", "concurrent"),
    OPENROUTER: ("minute", "day", "upstream"),
    ROUTEWAY: ("minute", "day"),
    OPENAI_COMPATIBLE: ("requests", "tokens"),
}


@dataclass
class RoutingUser:
    id: str
    plan: Plan
    day: PeriodCounter = field(default_factory=lambda: PeriodCounter("day"))
    hour: PeriodCounter = field(default_factory=lambda: PeriodCounter("hour"))
    minute: RollingCounter = field(default_factory=RollingCounter)
    stop_token: int = 0
    stream_limit: int | None = None  # concurrent streams; None: the plan's
    # How a stream refused by a limit is answered: "status" (a plain-text 429, as
    # documented) or "sse" (200, then the error as a `data: {"error": ...}` event).
    stream_denial: str = "status"

    @property
    def max_streams(self) -> int:
        return self.plan.streams if self.stream_limit is None else self.stream_limit


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
class OpenAICompatibleKey:
    """A key of an OpenAI-compatible provider: requests and tokens per minute,
    refilled evenly (OpenAI's limits), reported on every response."""

    key: str
    rpm: int = 60
    tpm: int = 150_000
    requests: TokenBucket = field(default_factory=TokenBucket)
    tokens: TokenBucket = field(default_factory=TokenBucket)


@dataclass
class StreamHandle:
    id: int
    provider: str
    key: str
    owner: str  # routing.run user id / account id: what the stop token belongs to
    model: str
    events: int  # content events before the stream ends
    token: int = 0
    kill_requested: bool = False
    internal: bool = False
    script: StreamScript = DEFAULT_SCRIPT
    include_usage: bool = True  # send the final usage chunk


@dataclass
class Traffic:
    rate_per_min: float
    last: datetime
    carry: float = 0.0


@dataclass
class Job:
    interval_s: float
    fn: Callable[[Any], object]  # called with the Simulator that runs the job; what it returns is dropped
    next_at: datetime


def iso_z(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def usd(value: float) -> float:
    return round(value, 6)
