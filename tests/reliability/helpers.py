"""What the reliability suites share: a world of accounts on the simulator,
the fault table with each provider's expected state and message, the
badge-lie check and a bounded wait."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from traywidget.model import Account, Meter, Snapshot, State, Unit
from traywidget.store.secrets import MemorySecretStore

PROVIDERS = ("routing.run", "openrouter", "routeway")
SHORT = {"routing.run": "rr", "openrouter": "or", "routeway": "rw"}
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Case:
    """One fault and what each provider's account must show while it lasts."""

    name: str
    fault: str  # a simulator fault, or "refused" (a closed loopback port)
    params: dict[str, Any]
    state: State
    # provider -> exact message; a value ending in "…" is a prefix.
    messages: dict[str, str]
    # provider -> (min, max) retry_after_s the error must carry; None: no check.
    retry: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    # Faults that last beyond the request timeout (the CLI needs other params).
    slow: bool = False

    def message_ok(self, provider: str, message: str | None) -> bool:
        want = self.messages.get(provider)
        if want is None:
            return True
        if message is None:
            return False
        return message.startswith(want[:-1]) if want.endswith("…") else message == want


def _same(message: str) -> dict[str, str]:
    return dict.fromkeys(PROVIDERS, message)


def malformed(rr: str, or_: str, rw: str) -> dict[str, str]:
    return {"routing.run": f"Malformed response: {rr}", "openrouter": f"Malformed response: {or_}",
            "routeway": f"Malformed response: {rw}"}


NO_NUMBER = malformed("routing.run usage has no usable number", "OpenRouter key response has no usable number",
                      "the key's row in account/keys has no usable number")
RATE_LIMITED = {"routing.run": "Hourly request limit exceeded", "openrouter": "Rate limit exceeded",
                "routeway": "API key per-minute rate limit exceeded (5 RPM)."}


def cases(timeout_s: float, retry_after: int = 1) -> list[Case]:
    """The fault matrix for a client whose request timeout is `timeout_s`."""
    late = f"{HOST} did not answer within {timeout_s:g} s"
    ra = (retry_after - 1.0, retry_after + 0.5)
    return [
        Case("latency", "latency", {"ms": int(timeout_s * 300)}, State.OK, {}),
        Case("hang past the timeout", "hang", {}, State.ERROR, _same(late), slow=True),
        Case("connection refused", "refused", {}, State.ERROR, _same(f"{HOST} refused the connection")),
        Case("reset mid-body", "reset", {}, State.ERROR, _same(f"Connection to {HOST} broke off …")),
        Case("5xx with HTML", "http_500_html", {}, State.ERROR, _same("HTTP 502 from provider (HTML page)")),
        Case("5xx with JSON", "json_500", {}, State.ERROR,
             {"routing.run": "Internal server error", "openrouter": "Internal Server Error",
              "routeway": "Internal server error"}),
        Case("truncated JSON", "truncated_json", {}, State.ERROR,
             malformed("routing.run usage is not JSON", "OpenRouter response is not JSON",
                       "Routeway response is not JSON")),
        Case("wrong types", "wrong_types", {}, State.ERROR, NO_NUMBER),
        Case("negative numbers", "negative", {}, State.ERROR, NO_NUMBER),
        Case("NaN", "nan", {}, State.ERROR, NO_NUMBER),
        Case("huge numbers", "huge", {}, State.ERROR, NO_NUMBER),
        Case("missing fields", "missing_fields", {}, State.ERROR,
             {**NO_NUMBER, "routing.run": "Malformed response: routing.run usage has no requests_* fields"}),
        Case("401", "status_401", {}, State.AUTH_ERROR,
             {"routing.run": "Invalid API key", "openrouter": "User not found.", "routeway": "Invalid API key"}),
        Case("402", "status_402", {}, State.PAYMENT_REQUIRED,
             {"routing.run": "Insufficient credits", "openrouter": "Insufficient credits",
              "routeway": "Insufficient balance"}),
        Case("403", "status_403", {}, State.AUTH_ERROR,
             {"routing.run": "Not authorized", "openrouter": "Forbidden", "routeway": "Permission denied"}),
        Case("429 Retry-After seconds", "status_429", {"retry_after": retry_after}, State.RATE_LIMITED,
             RATE_LIMITED, dict.fromkeys(PROVIDERS, ra)),
        Case("429 Retry-After HTTP-date", "status_429", {"retry_after": retry_after + 1, "http_date": True},
             State.RATE_LIMITED, RATE_LIMITED, dict.fromkeys(PROVIDERS, (retry_after - 1.0, retry_after + 1.5))),
        # Without Retry-After: routing.run says nothing (backoff decides); OpenRouter's and
        # Routeway's X-RateLimit-* headers name the minute window's reset (60 s).
        Case("429 without Retry-After", "status_429", {}, State.RATE_LIMITED, RATE_LIMITED,
             {"routing.run": None, "openrouter": (55.0, 61.0), "routeway": (55.0, 61.0)}),
        Case("per-IP limiter 429", "ip_limit", {"retry_after": retry_after}, State.RATE_LIMITED,
             {**RATE_LIMITED, "routing.run": "Rate limit exceeded. Please try again later."},
             dict.fromkeys(PROVIDERS, ra)),
        Case("slow drip past the timeout", "slow_drip", {"seconds": timeout_s * 3}, State.ERROR, _same(late),
             slow=True),
        Case("slow drip within the timeout", "slow_drip", {"seconds": timeout_s * 0.2}, State.OK, {}),
    ]


@dataclass
class Member:
    """One account of the world and the key its usage requests carry."""

    account: Account
    api_key: str
    management_key: str | None

    @property
    def usage_key(self) -> str:
        """The key the usage endpoint sees (Routeway polls with the management key)."""
        return self.management_key or self.api_key


def add_member(server, provider: str, account_id: str, secrets: MemorySecretStore,
               base_url: str | None = None, **options: Any) -> Member:
    s = server.sim
    made = s.add_account(provider, management=provider == "routeway", **options)
    secrets.set(account_id, made["api_key"])
    if made["management_key"]:
        secrets.set(account_id, made["management_key"], management=True)
    account = Account(id=account_id, provider=provider, label=account_id,
                      base_url=base_url or server.url(provider))
    return Member(account, made["api_key"], made["management_key"])


def closed_port_url(port: int, provider: str) -> str:
    from traywidget.simulator.wire import PREFIXES

    return f"http://{HOST}:{port}{PREFIXES[provider]}"


def meter_values(snap: Snapshot) -> tuple:
    """What must not change between a baseline and a faulty run (not reset times)."""
    return tuple((m.name, m.used, m.limit, m.remaining) for m in snap.meters)


def badge_lies(snap: Snapshot) -> list[str]:
    """Every meter that would make the badge lie."""
    return [f"{snap.account_id}/{m.name}: {why}" for m in snap.meters if (why := meter_lie(m))]


def meter_lie(m: Meter) -> str | None:
    for name in ("used", "limit", "remaining"):
        value = getattr(m, name)
        if value is not None and (not isinstance(value, (int, float)) or not math.isfinite(value)):
            return f"{name}={value!r}"
    if m.unit is Unit.REQUESTS:
        if m.remaining is not None and m.remaining < 0:
            return f"remaining={m.remaining} < 0"
        if m.limit is not None and m.limit < 0:
            return f"limit={m.limit} < 0"
    if m.remaining is not None and m.limit is not None and m.limit > 0 and m.remaining > m.limit:
        return f"remaining={m.remaining} > limit={m.limit}"
    fraction = m.fraction_left
    if fraction is not None and not (0.0 <= fraction <= 1.0):
        return f"fraction_left={fraction}"
    return None


async def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    return predicate()
