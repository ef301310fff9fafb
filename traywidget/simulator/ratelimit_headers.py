"""Rate-limit headers in each provider's own form (PROVIDERS.md), from windows
given as (limit, remaining, reset_at). Pure functions.

- Routeway: X-RateLimit-{Limit,Remaining,Reset}-{Minute,Day}, resets in seconds;
- OpenRouter (429s only): X-RateLimit-Limit/Remaining/Reset, reset in epoch milliseconds;
- OpenAI style: x-ratelimit-{limit,remaining,reset}-{requests,tokens}, resets as Go
  durations ("1s", "6m0s", "12ms");
- Anthropic style: anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset},
  resets as RFC 3339 timestamps;
- Retry-After in delta seconds (or an HTTP date), retry-after-ms in milliseconds.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from traywidget.simulator.records import Window


def seconds_until(moment: datetime, now: datetime) -> int:
    """Whole seconds until moment, rounded up (never negative)."""
    return max(0, int((moment - now).total_seconds() + 0.999))


def retry_after_header(seconds: float | None, now: datetime, http_date: bool = False) -> dict[str, str]:
    if seconds is None:
        return {}
    if http_date:
        return {"Retry-After": format_datetime(now + timedelta(seconds=seconds), usegmt=True)}
    return {"Retry-After": str(round(seconds))}


def routeway_window_headers(windows: dict[str, Window], now: datetime) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, label in (("minute", "Minute"), ("day", "Day")):
        if name in windows:
            limit, remaining, reset_at = windows[name]
            headers[f"X-RateLimit-Limit-{label}"] = str(limit)
            headers[f"X-RateLimit-Remaining-{label}"] = str(max(0, remaining))
            headers[f"X-RateLimit-Reset-{label}"] = str(seconds_until(reset_at, now))
    return headers


def routeway_retry_after(windows: dict[str, Window], now: datetime) -> dict[str, str]:
    """Routeway's Retry-After on a response of a rate-limited model: the seconds
    before another request is accepted (0 while both windows have room)."""
    waits = [seconds_until(reset_at, now) for _, remaining, reset_at in windows.values() if remaining <= 0]
    return {"Retry-After": str(max(waits, default=0))}


def openrouter_window_headers(limit: int, remaining: int, reset_at: datetime) -> dict[str, str]:
    return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(max(0, remaining)),
            "X-RateLimit-Reset": str(int(reset_at.timestamp() * 1000))}


def go_duration(seconds: float) -> str:
    """A duration as Go's time.Duration.String() writes it, to the millisecond:
    "0s", "12ms", "1s", "1.5s", "6m0s", "1h0m0s"."""
    millis = max(0, math.ceil(seconds * 1000 - 1e-6))
    if millis == 0:
        return "0s"
    if millis < 1000:
        return f"{millis}ms"
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, frac = divmod(rest, 1000)
    text = f"{whole}.{frac:03d}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    if minutes:
        return f"{minutes}m{text}"
    return text


def openai_window_headers(windows: dict[str, Window], now: datetime) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name in ("requests", "tokens"):
        if name in windows:
            limit, remaining, reset_at = windows[name]
            headers[f"x-ratelimit-limit-{name}"] = str(limit)
            headers[f"x-ratelimit-remaining-{name}"] = str(max(0, remaining))
            headers[f"x-ratelimit-reset-{name}"] = go_duration((reset_at - now).total_seconds())
    return headers


def rfc3339(moment: datetime) -> str:
    """UTC, whole seconds rounded up (a reset is never reported early)."""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment.isoformat().replace("+00:00", "Z")


def anthropic_window_headers(windows: dict[str, Window]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name in ("requests", "tokens"):
        if name in windows:
            limit, remaining, reset_at = windows[name]
            headers[f"anthropic-ratelimit-{name}-limit"] = str(limit)
            headers[f"anthropic-ratelimit-{name}-remaining"] = str(max(0, remaining))
            headers[f"anthropic-ratelimit-{name}-reset"] = rfc3339(reset_at)
    return headers


def openai_retry_headers(wait_s: float) -> dict[str, str]:
    """OpenAI's pair on a 429: retry-after-ms and Retry-After (whole seconds, rounded up)."""
    return {"retry-after-ms": str(math.ceil(wait_s * 1000)), "Retry-After": str(math.ceil(wait_s))}
