"""Reading provider bodies safely: JSON decoding, bounded messages and codes,
and the classification of an error response into a state.

Everything here is pure and never raises on bad input; malformed values
become None (or NOT_JSON).
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any

from traywidget.i18n import Phrase
from traywidget.model import ErrorInfo, HttpResult, ProviderError, State
from traywidget.providers.scrub import scrub

# A usage or error body is a few hundred bytes; anything this big is not one.
MAX_JSON_BYTES = 1_000_000
# Only this much of a text body is looked at for a message.
MAX_TEXT_BYTES = 16_384
# Messages shown to the user are trimmed to this many characters.
MAX_MESSAGE_CHARS = 300

NOT_JSON = object()  # sentinel: the body is not (safely decodable) JSON

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
    text = scrub(text)  # the keys the program knows were taken out where the body came in (scrub.py)
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
        return Phrase("HTTP {status} from provider (HTML page)", status=result.status)
    message = bound_message(text)
    return message or Phrase("{status} from provider", status=status_phrase(result.status))


def bound_code(value: Any, limit: int = 64) -> str | None:
    """A machine-readable error code as a short string (ints are stringified)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return bound_message(value, limit)


# ---------------------------------------------------------------------------
# Classification


def error_fields(data: Any) -> tuple[str | None, str | None, str | None]:
    """(message, code, type) from an OpenAI-, Anthropic- or bare-shaped JSON error body."""
    if not isinstance(data, dict):
        return None, None, None
    error = data.get("error")
    if isinstance(error, dict):
        code = bound_code(error.get("code"))
        if code is not None and code.isdigit():  # a numeric code only repeats the status
            code = None
        return bound_message(error.get("message")), code, bound_code(error.get("type"))
    if isinstance(error, str):
        return bound_message(error), bound_code(data.get("code")), None
    return bound_message(data.get("message")), bound_code(data.get("code")), None


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


def malformed(what: str, status: int | None = 200) -> ProviderError:
    """The error for a body that is not what the provider documents. `what` is an English msgid
    (packaging/i18n.py extracts the literal given here), said in the user's language where shown."""
    return ProviderError(
        State.ERROR,
        ErrorInfo(message=Phrase("Malformed response: {what}", what=Phrase(what)), http_status=status,
                  code="MALFORMED_RESPONSE"),
    )
