"""Each provider's error bodies and headers, as documented in PROVIDERS.md.

Everything here is pure: builders return a `Reply` (status, body, headers)
that wire.py writes, or the error object an SSE error event carries. One
helper makes JSON replies, one makes routing.run's plain-text errors; the
provider forms are thin wrappers around those.

Errors inside a stream (a scripted 429, or a refused stream with
stream_denial="sse"), from `stream_error_object`:
- routing.run: `data: {"error": {"message": "Concurrent stream limit exceeded",
  "code": "RATE_LIMIT_ERROR", "status": 429}}` (message and code as in its
  plain-text 429 and X-Error-Code), then `data: [DONE]`;
- OpenRouter: a chat.completion.chunk with a top-level `error` ({"code": 429,
  "message", "metadata"}) and `finish_reason: "error"`, then `data: [DONE]`;
  an upstream's 429 says "Provider returned error" with metadata.provider_code;
- Routeway: `data: {"error": {...}}` with its 429 body's error object (current or
  older form, as the account answers 429s), then `data: [DONE]`;
- openai-compatible: `data: {"error": {"message", "type": "requests"|"tokens",
  "param": null, "code": "rate_limit_exceeded"}}`, then the connection ends (as
  OpenAI does); on /messages an `event: error` with Anthropic's
  {"type": "error", "error": {"type": "rate_limit_error", "message"}}.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from traywidget.simulator.faults import Fault, dump_json
from traywidget.simulator.ratelimit_headers import (
    anthropic_window_headers,
    openai_retry_headers,
    openai_window_headers,
    openrouter_window_headers,
    retry_after_header,
    routeway_window_headers,
    seconds_until,
)
from traywidget.simulator.records import (
    OPENAI_COMPATIBLE,
    OPENROUTER,
    ROUTEWAY,
    ROUTING,
    Denial,
)


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


def _routeway_rate_limit_error(message: str, *, legacy: bool) -> dict[str, Any]:
    """Routeway's 429 error object in the current documented form, or the older FAQ form."""
    if legacy:
        return {"message": message, "type": "error", "tip": "Slow down or use a pay-as-you-go model.", "code": 429}
    return {"message": message, "type": "rate_limit_error", "param": None, "code": "rate_limit_exceeded",
            "status_code": 429, "id": secrets.token_hex(4), "docs": "https://docs.routeway.ai",
            "support": "https://discord.gg/RjX2CpdPpd"}


def openai_error(status: int, message: str, type_: str, code: str | None = None,
                 headers: dict[str, str] | None = None) -> Reply:
    """OpenAI's error body: {"error": {"message", "type", "param", "code"}}."""
    return json_reply({"error": {"message": message, "type": type_, "param": None, "code": code}},
                      status, headers)


def anthropic_error(status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    """Anthropic's error body: {"type": "error", "error": {"type", "message"}}."""
    return json_reply({"type": "error", "error": {"type": type_, "message": message}}, status, headers)


def html_error(status: int) -> Reply:
    """What a proxy in front of the API sends when the backend is down."""
    body = (f"<html><head><title>{status} Bad Gateway</title></head><body>"
            f"<center><h1>{status} Server Error</h1></center><hr><center>nginx</center>"
            "</body></html>\n")
    return Reply(status, body.encode(), "text/html")


# --- limit denials (from records.Denial) -------------------------------------

ROUTING_LIMIT_TEXT = {
    "daily": ("DAILY_REQUEST_LIMIT_EXCEEDED", "Daily request limit exceeded"),
    "hourly": ("RATE_LIMIT_ERROR", "Hourly request limit exceeded"),
    "minute": ("RATE_LIMIT_ERROR", "Per-minute request limit exceeded"),
    "concurrent": ("RATE_LIMIT_ERROR", "Concurrent stream limit exceeded"),
}


def _routeway_message(denial: Denial) -> str:
    if denial.kind == "minute":
        return f"API key per-minute rate limit exceeded ({denial.limit} RPM)."
    return f"API key daily rate limit exceeded ({denial.limit} RPD)."


def _openrouter_rate_limit_error(denial: Denial) -> dict[str, Any]:
    if denial.kind == "upstream":
        return {"code": 429, "message": "Provider returned error",
                "metadata": {"provider_name": "OpenAI", "provider_code": 429,
                             "raw": "Rate limit reached for requests"}}
    return {"code": 429, "message": "Rate limit exceeded: free-models-per-" + denial.kind,
            "metadata": {"error_type": "rate_limit_exceeded"}}


def _openai_message(denial: Denial, now: datetime) -> str:
    unit = "requests per min (RPM)" if denial.kind == "requests" else "tokens per min (TPM)"
    wait = (denial.reset_at - now).total_seconds() if denial.reset_at else 0.0
    return (f"Rate limit reached for {unit}: Limit {denial.limit}, Remaining {denial.remaining}. "
            f"Please try again in {wait:.3g}s.")


def _anthropic_message(denial: Denial) -> str:
    unit = "requests" if denial.kind == "requests" else "tokens"
    return f"This request would exceed your organization's rate limit of {denial.limit} {unit} per minute."


def denial_reply(provider: str, denial: Denial, now: datetime, *, legacy: bool = False,
                 anthropic: bool = False) -> Reply:
    """The documented answer to a request refused by a plan limit or balance
    (`anthropic`: on an Anthropic-style endpoint)."""
    if denial.kind == "payment":
        if provider == ROUTING:
            return plain_error(402, "INSUFFICIENT_CREDITS", "Insufficient credits")
        if provider == OPENROUTER:
            return openrouter_error(402, "Insufficient credits. Add more using https://openrouter.ai/credits")
        return routeway_error(402, "Insufficient balance. Top up your account.",
                              "invalid_request_error", "insufficient_balance")
    if denial.kind == "key_limit":
        return openrouter_error(403, "Key limit exceeded (total limit). Manage it using https://openrouter.ai/settings/keys")
    retry = seconds_until(denial.reset_at, now) if denial.reset_at else None
    if provider == ROUTING:
        code, text = ROUTING_LIMIT_TEXT[denial.kind]
        return plain_error(429, code, text)
    if provider == OPENROUTER:
        headers = retry_after_header(retry, now)
        if denial.limit is not None and denial.reset_at is not None:
            headers.update(openrouter_window_headers(denial.limit, denial.remaining or 0, denial.reset_at))
        return json_reply({"error": _openrouter_rate_limit_error(denial)}, 429, headers)
    if provider == OPENAI_COMPATIBLE:
        wait = max(0.0, (denial.reset_at - now).total_seconds()) if denial.reset_at else 1.0
        if anthropic:
            headers = {**anthropic_window_headers(denial.windows), "retry-after": str(max(1, seconds_until(
                denial.reset_at or now, now)))}
            return anthropic_error(429, "rate_limit_error", _anthropic_message(denial), headers)
        headers = {**openai_window_headers(denial.windows, now), **openai_retry_headers(wait)}
        return openai_error(429, _openai_message(denial, now), denial.kind, "rate_limit_exceeded", headers)
    headers = {**retry_after_header(retry, now), **routeway_window_headers(denial.windows, now)}
    return json_reply({"error": _routeway_rate_limit_error(_routeway_message(denial), legacy=legacy)}, 429, headers)


def stream_error_object(provider: str, denial: Denial, now: datetime, *, legacy: bool = False,
                        anthropic: bool = False) -> dict[str, Any]:
    """The error object an SSE error event carries for a 429 (module docstring)."""
    if provider == ROUTING:
        code, text = ROUTING_LIMIT_TEXT[denial.kind]
        return {"message": text, "code": code, "status": 429}
    if provider == OPENROUTER:
        return _openrouter_rate_limit_error(denial)
    if provider == ROUTEWAY:
        return _routeway_rate_limit_error(_routeway_message(denial), legacy=legacy)
    if anthropic:
        return {"type": "rate_limit_error", "message": _anthropic_message(denial)}
    return {"message": _openai_message(denial, now), "type": denial.kind, "param": None,
            "code": "rate_limit_exceeded"}


# --- injected faults -----------------------------------------------------------

def fault_reply(provider: str, fault: Fault, now: datetime, *, legacy: bool = False,
                anthropic: bool = False, key: str | None = None) -> Reply:
    """The error reply an injected error fault produces, in the provider's form; with the fault's
    `echo_key`, its message names the key the request carried, as some providers' do."""
    reply = _fault_reply(provider, fault, now, legacy=legacy, anthropic=anthropic)
    if fault.params.get("echo_key") and key:
        return _echoing_key(reply, key)
    return reply


def _echoing_key(reply: Reply, key: str) -> Reply:
    """The reply with its message (every "message" of a JSON body, or the whole text) naming `key`."""
    prefix = f"Rate limit reached for key {key}. " if reply.status == 429 else f"Refused for key {key}. "
    if reply.content_type != "application/json":
        return replace(reply, body=prefix.encode() + reply.body)

    def echo(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (prefix + v if k == "message" and isinstance(v, str) else echo(v)) for k, v in value.items()}
        return [echo(v) for v in value] if isinstance(value, list) else value

    return replace(reply, body=dump_json(echo(json.loads(reply.body))))


def _fault_reply(provider: str, fault: Fault, now: datetime, *, legacy: bool, anthropic: bool) -> Reply:
    kind, params = fault.kind, fault.params
    if kind == "http_500_html":
        return html_error(int(params.get("status", 502)))
    if kind == "json_500":
        if provider == ROUTING:
            return json_reply({"message": "Internal server error"}, 500)
        if provider == OPENROUTER:
            return openrouter_error(500, "Internal Server Error")
        if provider == OPENAI_COMPATIBLE:
            if anthropic:
                return anthropic_error(500, "api_error", "Internal server error")
            return openai_error(500, "The server had an error while processing your request.", "server_error")
        return routeway_error(500, "Internal server error", "api_error")
    if kind == "ip_limit":
        retry = int(params.get("retry_after", 30))
        headers = {"Retry-After": str(retry), "X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0"}
        if provider == ROUTING:
            return json_reply({"message": "Rate limit exceeded. Please try again later.",
                               "retry_after": retry}, 429, headers)
        return _status_fault(provider, 429, {"retry_after": retry}, now, legacy, anthropic)
    return _status_fault(provider, int(kind.removeprefix("status_")), params, now, legacy, anthropic)


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
_OPENAI_STATUS = {
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    402: ("You exceeded your current quota, please check your plan and billing details.",
          "insufficient_quota", "insufficient_quota"),
    403: ("You are not allowed to perform this request.", "permission_error", None),
}
_ANTHROPIC_STATUS = {
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the API."),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
}


def _status_fault(provider: str, status: int, params: dict, now: datetime, legacy: bool,
                  anthropic: bool) -> Reply:
    headers = retry_after_header(params.get("retry_after"), now, bool(params.get("http_date")))
    if status == 429:
        return _rate_limit_fault(provider, params, now, legacy, anthropic, headers)
    if provider == ROUTING:
        return plain_error(status, *_ROUTING_STATUS[status])
    if provider == OPENROUTER:
        return openrouter_error(status, _OPENROUTER_STATUS[status])
    if provider == OPENAI_COMPATIBLE:
        if anthropic:
            return anthropic_error(status, *_ANTHROPIC_STATUS[status])
        return openai_error(status, *_OPENAI_STATUS[status])
    return routeway_error(status, *_ROUTEWAY_STATUS[status])


def _rate_limit_fault(provider: str, params: dict, now: datetime, legacy: bool, anthropic: bool,
                      headers: dict[str, str]) -> Reply:
    limit = params.get("limit", "hourly" if provider == ROUTING else "minute")
    if provider == ROUTING:
        return plain_error(429, *ROUTING_LIMIT_TEXT[limit], headers=headers)
    reset = now + timedelta(seconds=float(params.get("retry_after") or 60))
    if provider == OPENROUTER:
        headers.update(openrouter_window_headers(20, 0, reset))
        return openrouter_error(429, "Rate limit exceeded", {"error_type": "rate_limit_exceeded"}, headers)
    if provider == OPENAI_COMPATIBLE:
        denial = Denial("requests", 60, 0, reset, {"requests": (60, 0, reset)})
        if params.get("retry_after") is not None and not params.get("http_date"):
            headers.update(openai_retry_headers(float(params["retry_after"])))
        if anthropic:
            return anthropic_error(429, "rate_limit_error", _anthropic_message(denial),
                                   {**anthropic_window_headers(denial.windows), **headers})
        return openai_error(429, _openai_message(denial, now), "requests", "rate_limit_exceeded",
                            {**openai_window_headers(denial.windows, now), **headers})
    day_end = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    headers.update(routeway_window_headers({"minute": (5, 0, reset), "day": (200, 0, day_end)}, now))
    legacy = params.get("form", "legacy" if legacy else "new") == "legacy"
    message = "API key per-minute rate limit exceeded (5 RPM)."
    return json_reply({"error": _routeway_rate_limit_error(message, legacy=legacy)}, 429, headers)


def bad_request(provider: str, message: str, *, anthropic: bool = False) -> Reply:
    if provider == ROUTING:
        return plain_error(400, "INVALID_REQUEST", message)
    if provider == OPENROUTER:
        return openrouter_error(400, message)
    if provider == OPENAI_COMPATIBLE:
        if anthropic:
            return anthropic_error(400, "invalid_request_error", message)
        return openai_error(400, message, "invalid_request_error")
    return routeway_error(400, message, "invalid_request_error")
