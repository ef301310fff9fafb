"""Each provider's error bodies and headers, as documented in PROVIDERS.md.

Everything here is pure: builders return a `Reply` (status, body, headers)
that app.py writes. One helper makes JSON replies, one makes routing.run's
plain-text errors; the provider forms are thin wrappers around those.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any

from traywidget.simulator.faults import Fault, dump_json
from traywidget.simulator.records import Denial

ROUTING = "routing.run"
OPENROUTER = "openrouter"
ROUTEWAY = "routeway"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, dump_json(payload), "application/json", dict(headers or {}))


def plain_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    """routing.run's usual error: plain text body, code in X-Error-Code."""
    return Reply(status, message.encode(), "text/plain", {"X-Error-Code": code, **(headers or {})})


def openrouter_error(status: int, message: str, metadata: dict | None = None,
                     headers: dict[str, str] | None = None) -> Reply:
    error: dict[str, Any] = {"code": status, "message": message}
    if metadata is not None:
        error["metadata"] = metadata
    return json_reply({"error": error}, status, headers)


def routeway_error(status: int, message: str, type_: str, code: int | str | None = None,
                   headers: dict[str, str] | None = None) -> Reply:
    error = {"message": message, "type": type_, "code": status if code is None else code,
             "trace_id": secrets.token_hex(4)}
    return json_reply({"error": error}, status, headers)


def routeway_rate_limited(message: str, *, legacy: bool, headers: dict[str, str]) -> Reply:
    """Routeway's 429 in the current documented form, or the older FAQ form."""
    if legacy:
        error: dict[str, Any] = {"message": message, "type": "error",
                                 "tip": "Slow down or use a pay-as-you-go model.", "code": 429}
    else:
        error = {"message": message, "type": "rate_limit_error", "param": None,
                 "code": "rate_limit_exceeded", "status_code": 429, "id": secrets.token_hex(4),
                 "docs": "https://docs.routeway.ai", "support": "https://discord.gg/RjX2CpdPpd"}
    return json_reply({"error": error}, 429, headers)


def html_error(status: int) -> Reply:
    """What a proxy in front of the API sends when the backend is down."""
    body = (f"<html><head><title>{status} Bad Gateway</title></head><body>"
            f"<center><h1>{status} Server Error</h1></center><hr><center>nginx</center>"
            "</body></html>\n")
    return Reply(status, body.encode(), "text/html")


def retry_after_header(seconds: float | None, now: datetime, http_date: bool = False) -> dict[str, str]:
    if seconds is None:
        return {}
    if http_date:
        return {"Retry-After": format_datetime(now + timedelta(seconds=seconds), usegmt=True)}
    return {"Retry-After": str(int(round(seconds)))}


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(0, int((moment - now).total_seconds() + 0.999))


# --- limit denials (from state.Denial) ---------------------------------------

ROUTING_LIMIT_TEXT = {
    "daily": ("DAILY_REQUEST_LIMIT_EXCEEDED", "Daily request limit exceeded"),
    "hourly": ("RATE_LIMIT_ERROR", "Hourly request limit exceeded"),
    "minute": ("RATE_LIMIT_ERROR", "Per-minute request limit exceeded"),
    "concurrent": ("RATE_LIMIT_ERROR", "Concurrent stream limit exceeded"),
}


def routeway_window_headers(windows: dict[str, tuple[int, int, datetime]], now: datetime) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, label in (("minute", "Minute"), ("day", "Day")):
        if name in windows:
            limit, remaining, reset_at = windows[name]
            headers[f"X-RateLimit-Limit-{label}"] = str(limit)
            headers[f"X-RateLimit-Remaining-{label}"] = str(max(0, remaining))
            headers[f"X-RateLimit-Reset-{label}"] = str(_seconds_until(reset_at, now))
    return headers


def openrouter_window_headers(limit: int, remaining: int, reset_at: datetime) -> dict[str, str]:
    return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(max(0, remaining)),
            "X-RateLimit-Reset": str(int(reset_at.timestamp() * 1000))}


def denial_reply(provider: str, denial: Denial, now: datetime, *, legacy: bool = False) -> Reply:
    """The documented answer to a request refused by a plan limit or balance."""
    if denial.kind == "payment":
        if provider == ROUTING:
            return plain_error(402, "INSUFFICIENT_CREDITS", "Insufficient credits")
        if provider == OPENROUTER:
            return openrouter_error(402, "Insufficient credits. Add more using https://openrouter.ai/credits")
        return routeway_error(402, "Insufficient balance. Top up your account.",
                              "invalid_request_error", "insufficient_balance")
    if denial.kind == "key_limit":
        return openrouter_error(403, "Key limit exceeded (total limit). Manage it using https://openrouter.ai/settings/keys")
    retry = _seconds_until(denial.reset_at, now) if denial.reset_at else None
    if provider == ROUTING:
        code, text = ROUTING_LIMIT_TEXT[denial.kind]
        return plain_error(429, code, text)
    if provider == OPENROUTER:
        headers = retry_after_header(retry, now)
        if denial.limit is not None and denial.reset_at is not None:
            headers.update(openrouter_window_headers(denial.limit, denial.remaining or 0, denial.reset_at))
        return openrouter_error(429, "Rate limit exceeded: free-models-per-" + denial.kind,
                                {"error_type": "rate_limit_exceeded"}, headers)
    headers = {**retry_after_header(retry, now), **routeway_window_headers(denial.windows, now)}
    if denial.kind == "minute":
        message = f"API key per-minute rate limit exceeded ({denial.limit} RPM)."
    else:
        message = f"API key daily rate limit exceeded ({denial.limit} RPD)."
    return routeway_rate_limited(message, legacy=legacy, headers=headers)


# --- injected faults -----------------------------------------------------------

def fault_reply(provider: str, fault: Fault, now: datetime, *, legacy: bool = False) -> Reply:
    """The error reply an injected error fault produces, in the provider's form."""
    kind, params = fault.kind, fault.params
    if kind == "http_500_html":
        return html_error(int(params.get("status", 502)))
    if kind == "json_500":
        if provider == ROUTING:
            return json_reply({"message": "Internal server error"}, 500)
        if provider == OPENROUTER:
            return openrouter_error(500, "Internal Server Error")
        return routeway_error(500, "Internal server error", "api_error")
    if kind == "ip_limit":
        retry = int(params.get("retry_after", 30))
        headers = {"Retry-After": str(retry), "X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0"}
        if provider == ROUTING:
            return json_reply({"message": "Rate limit exceeded. Please try again later.",
                               "retry_after": retry}, 429, headers)
        return _status_fault(provider, 429, {"retry_after": retry}, now, legacy)
    return _status_fault(provider, int(kind.removeprefix("status_")), params, now, legacy)


_ROUTING_STATUS = {
    401: ("AUTHENTICATION_ERROR", "Invalid API key"),
    402: ("INSUFFICIENT_CREDITS", "Insufficient credits"),
    403: ("AUTHORIZATION_ERROR", "Not authorized"),
}
_OPENROUTER_STATUS = {401: "User not found.", 402: "Insufficient credits", 403: "Forbidden"}
_ROUTEWAY_STATUS = {
    401: ("Invalid API key", "authentication_error"),
    402: ("Insufficient balance", "invalid_request_error"),
    403: ("Permission denied", "permission_error"),
}


def _status_fault(provider: str, status: int, params: dict, now: datetime, legacy: bool) -> Reply:
    headers = retry_after_header(params.get("retry_after"), now, bool(params.get("http_date")))
    if status == 429:
        return _rate_limit_fault(provider, params, now, legacy, headers)
    if provider == ROUTING:
        return plain_error(status, *_ROUTING_STATUS[status])
    if provider == OPENROUTER:
        return openrouter_error(status, _OPENROUTER_STATUS[status])
    return routeway_error(status, *_ROUTEWAY_STATUS[status])


def _rate_limit_fault(provider: str, params: dict, now: datetime, legacy: bool,
                      headers: dict[str, str]) -> Reply:
    limit = params.get("limit", "hourly" if provider == ROUTING else "minute")
    if provider == ROUTING:
        return plain_error(429, *ROUTING_LIMIT_TEXT[limit], headers=headers)
    reset = now + timedelta(seconds=float(params.get("retry_after") or 60))
    if provider == OPENROUTER:
        headers.update(openrouter_window_headers(20, 0, reset))
        return openrouter_error(429, "Rate limit exceeded", {"error_type": "rate_limit_exceeded"}, headers)
    day_end = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    headers.update(routeway_window_headers({"minute": (5, 0, reset), "day": (200, 0, day_end)}, now))
    legacy = params.get("form", "legacy" if legacy else "new") == "legacy"
    return routeway_rate_limited("API key per-minute rate limit exceeded (5 RPM).", legacy=legacy, headers=headers)


def bad_request(provider: str, message: str) -> Reply:
    if provider == ROUTING:
        return plain_error(400, "INVALID_REQUEST", message)
    if provider == OPENROUTER:
        return openrouter_error(400, message)
    return routeway_error(400, message, "invalid_request_error")
