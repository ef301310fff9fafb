"""Helpers shared by the provider adapters: safe body decoding, bounded
messages, error-state classification, reset-time arithmetic and meter building.

Everything here is pure (no I/O, no clock: callers pass `now`) and never raises
on bad input; malformed values become None.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from typing import Any

from traywidget.core.model import ErrorInfo, Meter, State, Unit, clean_number, clean_signed_number
from traywidget.providers.base import HttpResult, ProviderError

# A usage or error body is a few hundred bytes; anything this big is not one.
MAX_JSON_BYTES = 1_000_000
# Only this much of a text body is looked at for a message.
MAX_TEXT_BYTES = 16_384
# Messages shown to the user are trimmed to this many characters.
MAX_MESSAGE_CHARS = 300

NOT_JSON = object()  # sentinel: the body is not (safely decodable) JSON

_MASK_SECRETS = re.compile(
    r"(?i)\b(bearer\s+|rk_|sk-or-v1-|sk-ant-|sk-|clsk-|rw-)[A-Za-z0-9_\-\.]{6,}"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACES = re.compile(r"\s+")


# ---------------------------------------------------------------------------
# Bodies and messages


def decode_json(body: bytes | bytearray | memoryview | None) -> Any:
    """The JSON value of `body`, or NOT_JSON. Size-bounded; never raises.

    NaN/Infinity literals are accepted by `json` and left for clean_number to
    reject; absurdly deep nesting and huge integers are treated as not JSON.
    """
    if body is None:
        return NOT_JSON
    try:
        raw = bytes(body)
    except (TypeError, ValueError):
        return NOT_JSON
    if not raw or len(raw) > MAX_JSON_BYTES:
        return NOT_JSON
    try:
        return json.loads(raw)
    except (ValueError, RecursionError, TypeError, OverflowError):
        return NOT_JSON


def body_text(body: bytes | None, limit: int = MAX_TEXT_BYTES) -> str:
    """The start of a body as text (undecodable bytes replaced)."""
    if not body:
        return ""
    try:
        return bytes(body[:limit]).decode("utf-8", errors="replace")
    except (TypeError, ValueError):
        return ""


def looks_like_html(text: str, content_type: str | None = None) -> bool:
    if content_type and "html" in content_type.lower():
        return True
    head = text.lstrip()[:512].lower()
    return head.startswith("<") and ("<html" in head or "<!doctype" in head or "<head" in head or "<body" in head)


def bound_message(text: Any, limit: int = MAX_MESSAGE_CHARS) -> str | None:
    """A provider's text made safe to show: one line, no control characters,
    nothing that looks like a key, at most `limit` characters. None if empty."""
    if not isinstance(text, str):
        return None
    text = _CONTROL.sub(" ", text)
    text = _SPACES.sub(" ", text).strip()
    text = _MASK_SECRETS.sub(lambda m: m.group(1) + "…", text)
    if not text:
        return None
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def status_phrase(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def fallback_message(result: HttpResult) -> str:
    """The message for an error body that carries no structured message:
    the plain text itself, or a short description of an HTML/empty body."""
    text = body_text(result.body)
    if looks_like_html(text, result.header("content-type")):
        return f"HTTP {result.status} from provider (HTML page)"
    message = bound_message(text)
    return message or f"{status_phrase(result.status)} from provider"


def bound_code(value: Any, limit: int = 64) -> str | None:
    """A machine-readable error code as a short string (ints are stringified)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return bound_message(value, limit)


# ---------------------------------------------------------------------------
# Classification


def state_for_status(status: int) -> State | None:
    """The state an HTTP status alone implies; None when the status says nothing
    specific (400, 404, ...): the body then decides."""
    if status in (401, 403):
        return State.AUTH_ERROR
    if status == 402:
        return State.PAYMENT_REQUIRED
    if status == 429:
        return State.RATE_LIMITED
    if 500 <= status <= 599:
        return State.ERROR
    return None


_KIND_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("concurrent_streams", re.compile(r"(?i)concurren")),
    ("daily", re.compile(r"(?i)daily|per[- _]?day|\bday\b|\brpd\b|today")),
    ("hourly", re.compile(r"(?i)hourly|per[- _]?hour|\bhour\b|\brph\b")),
    ("minute", re.compile(r"(?i)per[- _]?min|\bminute\b|\brpm\b")),
)


def limit_kind_from_text(*texts: Any) -> str | None:
    """Which limit a 429 message names ("daily", "hourly", "minute",
    "concurrent_streams"), or None."""
    for kind, pattern in _KIND_PATTERNS:
        for text in texts:
            if isinstance(text, str) and pattern.search(text):
                return kind
    return None


def provider_error(
    state: State,
    message: str,
    status: int | None,
    *,
    code: str | None = None,
    retry_after_s: float | None = None,
    limit_kind: str | None = None,
) -> ProviderError:
    return ProviderError(
        state,
        ErrorInfo(
            message=message,
            http_status=status,
            code=code,
            retry_after_s=retry_after_s,
            limit_kind=limit_kind,
        ),
    )


# ---------------------------------------------------------------------------
# Time


def as_utc(now: datetime) -> datetime:
    """`now` as an aware UTC datetime (a naive one is taken to be UTC)."""
    if now.tzinfo is None:
        return now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc)


def next_utc_midnight(now: datetime) -> datetime:
    now = as_utc(now)
    return datetime(now.year, now.month, now.day, tzinfo=timezone.utc) + timedelta(days=1)


def next_top_of_hour(now: datetime) -> datetime:
    now = as_utc(now)
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def next_monday_utc(now: datetime) -> datetime:
    """The next Monday 00:00 UTC strictly after `now` (weeks start Monday)."""
    midnight = next_utc_midnight(now)
    return midnight + timedelta(days=(7 - midnight.weekday()) % 7)


def first_of_next_month_utc(now: datetime) -> datetime:
    now = as_utc(now)
    if now.month == 12:
        return datetime(now.year + 1, 1, 1, tzinfo=timezone.utc)
    return datetime(now.year, now.month + 1, 1, tzinfo=timezone.utc)


def seconds_until(moment: datetime | None, now: datetime) -> float | None:
    if moment is None:
        return None
    return max(0.0, (moment - as_utc(now)).total_seconds())


# ---------------------------------------------------------------------------
# Meters


def request_meter(
    name: str,
    *,
    limit: Any,
    used: Any = None,
    remaining: Any = None,
    resets_at: datetime | None = None,
    zero_limit_means_uncapped: bool = True,
    estimated: bool = False,
    approximate_reset: bool = False,
) -> Meter:
    """A request-count meter from raw provider values, made consistent:

    - every value goes through clean_number (bad → None = unknown);
    - a limit of 0 means "no cap" (routing.run Lite's hour, Routeway's unset
      key limits) when `zero_limit_means_uncapped`;
    - without a cap, remaining is None (nothing to run out of);
    - a missing remaining is computed from limit − used when both are known;
    - remaining is clamped into [0, limit].
    """
    limit_n = clean_number(limit)
    used_n = clean_number(used)
    remaining_n = clean_number(remaining)
    if limit_n == 0 and zero_limit_means_uncapped:
        limit_n = None
    if limit_n is None:
        remaining_n = None
    else:
        if remaining_n is None and used_n is not None:
            remaining_n = max(0.0, limit_n - used_n)
        if remaining_n is not None:
            remaining_n = min(remaining_n, limit_n)
    return Meter(
        name=name,
        unit=Unit.REQUESTS,
        used=used_n,
        limit=limit_n,
        remaining=remaining_n,
        resets_at=resets_at,
        estimated=estimated,
        approximate_reset=approximate_reset,
    )


def usd(value: Any) -> float | None:
    """A USD amount that may be negative (a balance below zero)."""
    return clean_signed_number(value)


def format_usd(amount: float) -> str:
    if 0 < abs(amount) < 0.01:
        return f"${amount:.4f}"
    return f"${amount:,.2f}"


def plan_text(value: Any, limit: int = 60) -> str | None:
    return bound_message(value, limit)
