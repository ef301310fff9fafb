"""The one rate-limit header parser shared by every adapter.

Forms understood (header names are case-insensitive):

- ``Retry-After`` — delta seconds or an HTTP date (routing.run's per-IP
  limiter, OpenRouter on 429/503, Routeway on every 429); ``retry-after-ms``
  (OpenAI-style, milliseconds; preferred when present because it is finer).
- Plain ``X-RateLimit-Limit/Remaining/Reset`` → window ``"requests"``.
  OpenRouter sends these on some 429s (Reset format undocumented, probably
  epoch milliseconds); routing.run's per-IP limiter sends them too (per IP,
  not the plan quota: its adapter does not turn them into meters).
  Reset is told apart by magnitude: < 1e9 delta seconds, < 1e12 epoch
  seconds, else epoch milliseconds; a non-number may be an HTTP date.
- Routeway ``X-RateLimit-{Limit,Remaining,Reset}-{Minute,Day}`` → windows
  ``"minute"`` and ``"day"`` (Reset = seconds until the window resets).
- OpenAI ``x-ratelimit-{limit,remaining}-{requests,tokens}`` with
  ``x-ratelimit-reset-{requests,tokens}`` as Go durations (``1s``, ``6m0s``,
  ``12ms``, ``1h2m3.5s``) → windows ``"requests"`` and ``"tokens"``.
- Anthropic ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}``
  with RFC 3339 resets → windows of those names.
- Window-suffixed OpenAI style (Cerebras):
  ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}-{minute,hour,day}``, reset in (float)
  seconds → windows ``"requests-minute"`` … ``"tokens-day"``.
- DigitalOcean serverless inference: ``x-ratelimit-{limit,remaining,reset}-tokens-per-{day,minute}``
  (and ``-requests``), reset as epoch seconds → windows ``"tokens-day"``, ``"tokens-minute"``
  (``"requests"`` as OpenAI's).
- Fireworks' adaptive limits: ``x-ratelimit-{limit,remaining}-tokens-{prompt,generated}`` →
  windows ``"tokens-prompt"`` and ``"tokens-generated"`` (per minute, documented).
- Anthropic subscription (OAuth) traffic: ``anthropic-ratelimit-unified-{5h,7d}-{utilization,reset,status}``
  (utilization a fraction 0–1, reset epoch seconds, status allowed / allowed_warning / rejected) →
  windows ``"unified-5h"`` and ``"unified-7d"`` counted in percent (limit 100); a ``rejected``
  status leaves nothing.
- Groq sends OpenAI's names, but its ``-requests`` window is a day and ``-tokens`` a minute: the
  parser reports ``"requests"``/``"tokens"`` and the adapter names them by host.
- IETF draft ``RateLimit-Policy: "burst";q=100;w=60, "daily";q=1000;w=86400``
  with ``RateLimit: "default";r=50;t=30`` → one window per policy name;
  older drafts' ``RateLimit-Limit/Remaining/Reset`` (delta seconds) → window
  ``"default"``.

Malformed fields are ignored; nothing here raises. Numbers go through
clean_number (negative, NaN, absurd → None); a reset more than
MAX_RESET_AHEAD in the future is treated as garbage; one in the past is
clamped to `now` (the window has already reset).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from traywidget.model import clean_number
from traywidget.providers.resets import as_utc

# Longest wait / reset horizon taken seriously; beyond is garbage.
MAX_RETRY_AFTER_S = 31 * 86400.0
MAX_RESET_AHEAD = timedelta(days=400)

_EPOCH_SECONDS_MIN = 1e9  # 2001-09-09: smaller numbers are delta seconds
_EPOCH_MS_MIN = 1e12  # 2001-09-09 in ms: larger numbers are epoch milliseconds


@dataclass(frozen=True)
class HeaderWindow:
    name: str
    limit: float | None = None
    remaining: float | None = None
    resets_at: datetime | None = None


# Windows counted in percent of the window (Anthropic's subscription windows report only a share).
PERCENT_WINDOWS = frozenset({"unified-5h", "unified-7d"})
_UNIFIED_STATUSES = frozenset({"allowed", "allowed_warning", "rejected"})


@dataclass(frozen=True)
class RateLimitInfo:
    retry_after_s: float | None = None
    windows: tuple[HeaderWindow, ...] = ()

    def window(self, name: str) -> HeaderWindow | None:
        for window in self.windows:
            if window.name == name:
                return window
        return None


# ---------------------------------------------------------------------------
# Scalars


def _number(value: Any) -> float | None:
    """A clean non-negative number from a header value, or None.

    Accepts "100", "99.5", "100, 100" (a repeated header joined by a proxy:
    the first wins); rejects nan/inf/negative/absurd.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if "," in text:
        text = text.split(",", 1)[0].strip()
    if not re.fullmatch(r"[+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", text):
        return None
    try:
        return clean_number(float(text))
    except (ValueError, OverflowError):
        return None


_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_go_duration(value: Any) -> float | None:
    """Seconds in a Go duration string ("1s", "6m0s", "12ms", "1h2m3.5s"), or None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.startswith("+"):
        text = text[1:]
    if text == "0":
        return 0.0
    if not text or len(text) > 64 or not re.fullmatch(f"(?:{_GO_PART.pattern})+", text):
        return None
    total = 0.0
    for amount, unit in _GO_PART.findall(text):
        total += float(amount) * _GO_UNIT[unit]
    return clean_number(total) if math.isfinite(total) else None


def _http_date(value: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _rfc3339(value: str) -> datetime | None:
    text = value.strip()
    if not re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _sane(moment: datetime | None, now: datetime) -> datetime | None:
    """A reset time no earlier than now and not absurdly far ahead."""
    if moment is None:
        return None
    try:
        moment = moment.astimezone(UTC)
        if moment > now + MAX_RESET_AHEAD:
            return None
    except (OverflowError, ValueError):
        return None
    return max(moment, now)


def _after(now: datetime, seconds: float | None) -> datetime | None:
    if seconds is None:
        return None
    if seconds > MAX_RESET_AHEAD.total_seconds():
        return None
    return now + timedelta(seconds=seconds)


def parse_reset(value: Any, now: datetime) -> datetime | None:
    """When a window resets, from any of the reset forms in use:
    a number (by magnitude: delta seconds / epoch seconds / epoch ms), a Go
    duration, an RFC 3339 timestamp or an HTTP date. None if unreadable."""
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        return None
    now = as_utc(now)
    number = _number(value)
    if number is not None:
        if number >= _EPOCH_MS_MIN:
            try:
                return _sane(datetime.fromtimestamp(number / 1000.0, UTC), now)
            except (OverflowError, OSError, ValueError):
                return None
        if number >= _EPOCH_SECONDS_MIN:
            try:
                return _sane(datetime.fromtimestamp(number, UTC), now)
            except (OverflowError, OSError, ValueError):
                return None
        return _after(now, number)
    duration = parse_go_duration(value)
    if duration is not None:
        return _after(now, duration)
    moment = _rfc3339(value) or _http_date(value)
    return _sane(moment, now)


def parse_retry_after(value: Any, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value (delta seconds or HTTP date).

    A date in the past gives 0; negative, NaN, garbage or more than
    MAX_RETRY_AFTER_S gives None.
    """
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        return None
    seconds = _number(value)
    if seconds is None:
        moment = _http_date(value)
        if moment is None:
            return None
        try:
            seconds = max(0.0, (moment - as_utc(now)).total_seconds())
        except (OverflowError, ValueError):
            return None
    if seconds > MAX_RETRY_AFTER_S:
        return None
    return seconds


def parse_retry_after_ms(value: Any) -> float | None:
    """Seconds from an OpenAI-style retry-after-ms value."""
    ms = _number(value)
    if ms is None or ms / 1000.0 > MAX_RETRY_AFTER_S:
        return None
    return ms / 1000.0


# ---------------------------------------------------------------------------
# IETF structured-field lists (just enough of RFC 8941 for RateLimit fields)


def _split_top_level(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\" and quoted:
            current.append(char)
            escaped = True
        elif char == '"':
            quoted = not quoted
            current.append(char)
        elif char == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _sf_items(value: str) -> list[tuple[str | float | None, dict[str, str]]]:
    """(bare item, params) per list member; bare item is a name, a number or None."""
    items: list[tuple[str | float | None, dict[str, str]]] = []
    if len(value) > 4096:
        return items
    for member in _split_top_level(value, ","):
        pieces = _split_top_level(member, ";")
        head = pieces[0].strip()
        bare: str | float | None
        if len(head) >= 2 and head.startswith('"') and head.endswith('"'):
            bare = head[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        elif re.fullmatch(r"[A-Za-z*][A-Za-z0-9_\-.:%*/]*", head):
            bare = head
        else:
            bare = _number(head)
        params: dict[str, str] = {}
        for piece in pieces[1:]:
            key, eq, val = piece.partition("=")
            key = key.strip().lower()
            if key and eq:
                params.setdefault(key, val.strip().strip('"'))
        if bare is None and not params:
            continue
        items.append((bare, params))
    return items


# ---------------------------------------------------------------------------
# The parser


class _Windows:
    """Windows by name; for each field the first source that has it wins."""

    def __init__(self) -> None:
        self._fields: dict[str, dict[str, Any]] = {}

    def add(self, name: str, *, limit: Any = None, remaining: Any = None, resets_at: Any = None) -> None:
        if limit is None and remaining is None and resets_at is None:
            return
        fields = self._fields.setdefault(name, {"limit": None, "remaining": None, "resets_at": None})
        for key, val in (("limit", limit), ("remaining", remaining), ("resets_at", resets_at)):
            if fields[key] is None and val is not None:
                fields[key] = val

    def build(self) -> tuple[HeaderWindow, ...]:
        return tuple(HeaderWindow(name=name, **fields) for name, fields in self._fields.items())


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    """Names lowered (the first of repeated names wins); values that are not text are skipped."""
    lowered: dict[str, str] = {}
    for key, value in headers.items():
        if isinstance(key, bytes):
            key = key.decode("latin-1")
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if isinstance(key, str) and isinstance(value, str):
            lowered.setdefault(key.strip().lower(), value)
    return lowered


def parse_rate_limit_headers(headers: Mapping[str, str], now: datetime) -> RateLimitInfo:
    """Every rate-limit fact in `headers`. Never raises on any header value (fuzzed in
    tests/providers/test_fuzz.py): a bug here must surface in the tests, not hide behind a catch-all."""
    return _parse(headers, now)


def _parse(headers: Mapping[str, str], now: datetime) -> RateLimitInfo:
    h = _lowered(headers)
    now = as_utc(now)
    windows = _Windows()

    # Retry-After: OpenAI's ms form first (finer), then the standard field.
    retry = parse_retry_after_ms(h.get("retry-after-ms"))
    if retry is None:
        retry = parse_retry_after(h.get("retry-after"), now)

    # Routeway: X-RateLimit-{Limit,Remaining,Reset}-{Minute,Day}.
    for suffix, name in (("minute", "minute"), ("day", "day")):
        windows.add(
            name,
            limit=_number(h.get(f"x-ratelimit-limit-{suffix}")),
            remaining=_number(h.get(f"x-ratelimit-remaining-{suffix}")),
            resets_at=parse_reset(h.get(f"x-ratelimit-reset-{suffix}"), now),
        )

    # OpenAI: x-ratelimit-{limit,remaining}-{requests,tokens}, reset as Go duration.
    for kind in ("requests", "tokens"):
        windows.add(
            kind,
            limit=_number(h.get(f"x-ratelimit-limit-{kind}")),
            remaining=_number(h.get(f"x-ratelimit-remaining-{kind}")),
            resets_at=parse_reset(h.get(f"x-ratelimit-reset-{kind}"), now),
        )

    # Cerebras: x-ratelimit-{limit,remaining,reset}-{requests,tokens}-{minute,hour,day};
    # DigitalOcean: x-ratelimit-*-tokens-per-{day,minute} (reset epoch seconds, told apart by magnitude).
    for kind in ("requests", "tokens"):
        for period in ("minute", "hour", "day"):
            for suffix in (f"{kind}-{period}", f"{kind}-per-{period}"):
                windows.add(
                    f"{kind}-{period}",
                    limit=_number(h.get(f"x-ratelimit-limit-{suffix}")),
                    remaining=_number(h.get(f"x-ratelimit-remaining-{suffix}")),
                    resets_at=parse_reset(h.get(f"x-ratelimit-reset-{suffix}"), now),
                )

    # Fireworks: adaptive per-minute token limits for prompt and generated tokens.
    for kind in ("prompt", "generated"):
        windows.add(
            f"tokens-{kind}",
            limit=_number(h.get(f"x-ratelimit-limit-tokens-{kind}")),
            remaining=_number(h.get(f"x-ratelimit-remaining-tokens-{kind}")),
            resets_at=parse_reset(h.get(f"x-ratelimit-reset-tokens-{kind}"), now),
        )

    # Plain X-RateLimit-Limit/Remaining/Reset (OpenRouter 429s; routing.run's per-IP limiter).
    windows.add(
        "requests",
        limit=_number(h.get("x-ratelimit-limit")),
        remaining=_number(h.get("x-ratelimit-remaining")),
        resets_at=parse_reset(h.get("x-ratelimit-reset"), now),
    )

    # Anthropic: anthropic-ratelimit-<kind>-{limit,remaining,reset}, reset RFC 3339.
    for kind in ("requests", "tokens", "input-tokens", "output-tokens"):
        windows.add(
            kind,
            limit=_number(h.get(f"anthropic-ratelimit-{kind}-limit")),
            remaining=_number(h.get(f"anthropic-ratelimit-{kind}-remaining")),
            resets_at=parse_reset(h.get(f"anthropic-ratelimit-{kind}-reset"), now),
        )

    # Anthropic subscription traffic: a share of the 5-hour and 7-day windows used.
    for period in ("5h", "7d"):
        used_share = _number(h.get(f"anthropic-ratelimit-unified-{period}-utilization"))
        status = (h.get(f"anthropic-ratelimit-unified-{period}-status") or "").strip().lower()
        remaining = None
        if used_share is not None and used_share <= 1.0:
            remaining = round(100.0 * (1.0 - used_share), 6)
        if status == "rejected":
            remaining = 0.0
        elif status not in _UNIFIED_STATUSES and used_share is None:
            continue
        windows.add(
            f"unified-{period}",
            limit=100.0 if remaining is not None else None,
            remaining=remaining,
            resets_at=parse_reset(h.get(f"anthropic-ratelimit-unified-{period}-reset"), now),
        )

    # IETF draft: RateLimit-Policy + RateLimit (named policies).
    policies: dict[str, float | None] = {}
    policy_value = h.get("ratelimit-policy")
    if policy_value:
        for bare, params in _sf_items(policy_value):
            name = bare if isinstance(bare, str) and bare else "default"
            quota = _number(params.get("q")) if "q" in params else (bare if isinstance(bare, float) else None)
            policies.setdefault(name, quota)
    ratelimit_value = h.get("ratelimit")
    if ratelimit_value:
        for bare, params in _sf_items(ratelimit_value):
            name = bare if isinstance(bare, str) and bare else "default"
            windows.add(
                name,
                limit=policies.get(name),
                remaining=_number(params.get("r")),
                resets_at=_after(now, _number(params.get("t"))),
            )
    for name, quota in policies.items():
        windows.add(name, limit=quota)

    # Older IETF drafts: RateLimit-Limit/Remaining/Reset (reset = delta seconds).
    windows.add(
        "default",
        limit=_number(h.get("ratelimit-limit")),
        remaining=_number(h.get("ratelimit-remaining")),
        resets_at=_after(now, _number(h.get("ratelimit-reset"))),
    )

    return RateLimitInfo(retry_after_s=retry, windows=windows.build())
