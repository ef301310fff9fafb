"""What the user's own traffic through the local gateway says about an account.

Pure translation, like every adapter: the gateway hands in what it copied
from a response (status, headers, the start of a refusal's body, one SSE
event) and the time; this module answers with a TrafficObservation, using the
provider's own rules (`Provider.traffic_error`, `traffic_meter_names`) so a 429
seen in traffic means exactly what it means in a poll.

- `response_observation`: at a response — rate-limit headers become meters
  (source TRAFFIC, seen now); a refusal (429, 402, 401/403) becomes its state
  with the provider's own message, the limit it names and Retry-After.
- `stream_observation`: an error event inside a 200 SSE stream (OpenRouter's
  `finish_reason: "error"` chunk, `data: {"error": {...}}`, Anthropic's
  `event: error`) that refuses the account the same way.
- `stopped_reply` / `stopped_event`: how a request or stream stopped from
  traywidget ends, in the provider's error shape (or Anthropic's, for
  `messages`), so the user's tool reports it instead of choking on it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from traywidget.model import (
    INPUT_TOKENS_WINDOW,
    OUTPUT_TOKENS_WINDOW,
    TOKENS_DAY,
    TOKENS_HOUR,
    TOKENS_MINUTE,
    TOKENS_WINDOW,
    HttpResult,
    Meter,
    Source,
    TrafficObservation,
    Unit,
)
from traywidget.providers.base import PollContext, Provider, RequestSpec
from traywidget.providers.headers import PERCENT_WINDOWS, parse_rate_limit_headers
from traywidget.providers.meters import request_meter

# How much of a refusal's body is read to find the provider's message.
MAX_ERROR_BODY_BYTES = 16_384
# One SSE event larger than this is not an error event worth reading.
MAX_EVENT_BYTES = 65_536

# A request or stream stopped from traywidget. 499 ("client closed request")
# and x-should-retry: false keep SDKs (OpenAI's, Anthropic's) from retrying —
# a retry would start the generation the user just stopped.
STOPPED_STATUS = 499
STOPPED_CODE = "stream_stopped"
STOPPED_MESSAGE = "Stopped from traywidget (Kill all streams)."
# A request of an account the user (or a guard rail) holds. 423 Locked: a 4xx the SDKs neither
# retry (not 408/409/429, not 5xx) nor mistake for a rejected key (401/403).
HELD_STATUS = 423
HELD_CODE = "held_by_traywidget"

_TOKEN_METERS = frozenset({TOKENS_WINDOW, INPUT_TOKENS_WINDOW, OUTPUT_TOKENS_WINDOW, TOKENS_MINUTE, TOKENS_HOUR,
                           TOKENS_DAY})
_TRAFFIC = RequestSpec("traffic", "")


def is_event_stream(content_type: str | None) -> bool:
    return content_type is not None and "text/event-stream" in content_type.lower()


def is_messages_path(path: str) -> bool:
    """An Anthropic-style `messages` request (Anthropic SDKs, Claude Code)."""
    return path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] == "messages"


def wants_body(status: int) -> bool:
    """Whether a response's body must be read (a copy, bounded) before it can be understood:
    a refusal's message is in its body; a success or a server error needs none."""
    return 400 <= status < 500


def traffic_meters(
    provider: Provider, headers: Mapping[str, str], now: datetime, limit_kind: str | None = None,
    base_url: str = "",
) -> tuple[Meter, ...]:
    """The provider's rate-limit header windows as meters seen in traffic at `now`."""
    names = provider.traffic_meter_names(limit_kind, base_url)
    if not names:
        return ()
    meters: list[Meter] = []
    for window in parse_rate_limit_headers(headers, now).windows:
        name = names.get(window.name)
        if name is None or any(m.name == name for m in meters):
            continue
        meter = request_meter(name, limit=window.limit, remaining=window.remaining, resets_at=window.resets_at)
        if meter.limit is None:
            continue  # nothing to show without a limit: never a made-up number
        unit = Unit.PERCENT if window.name in PERCENT_WINDOWS else Unit.TOKENS if name in _TOKEN_METERS \
            else Unit.REQUESTS
        meters.append(replace(meter, unit=unit, source=Source.TRAFFIC, seen_at=now))
    return tuple(meters)


def response_observation(
    provider: Provider, account_id: str, result: HttpResult, now: datetime, base_url: str = ""
) -> TrafficObservation | None:
    """What one response to the user's own request (to the account at `base_url`) says, or None
    when it says nothing about the account (a server error, a bad request).

    For a refusal, `result.body` holds (the start of) its body."""
    ctx = PollContext(now=now, seen_traffic=True, base_url=base_url)
    error = provider.traffic_error(_TRAFFIC, result, ctx)
    if error is not None:
        meters = traffic_meters(provider, result.headers, now, error.info.limit_kind, base_url)
        meters += provider.traffic_money_meters(result, ctx)
        return TrafficObservation(account_id, now, meters, error.state, error.info)
    if not result.ok:
        return None
    meters = traffic_meters(provider, result.headers, now, base_url=base_url)
    return TrafficObservation(account_id, now, meters + provider.traffic_money_meters(result, ctx))


def stream_observation(
    provider: Provider, account_id: str, event: bytes, headers: Mapping[str, str], now: datetime,
    base_url: str = "",
) -> TrafficObservation | None:
    """What one SSE event of a 200 stream says: an observation only for an
    error event that refuses the account (a 429 mid-stream, say)."""
    if len(event) > MAX_EVENT_BYTES or b"error" not in event:
        return None
    data = _event_data(event)
    try:
        payload = json.loads(data) if data else None
    except (ValueError, RecursionError):
        return None
    if not isinstance(payload, dict):
        return None
    error = payload.get("error")
    if not isinstance(error, dict):
        return None
    status = _event_status(error)
    if status is None:
        return None
    result = HttpResult(status=status, headers=headers, body=data)
    return response_observation(provider, account_id, result, now, base_url)


def _event_data(event: bytes) -> bytes:
    """The `data:` lines of one SSE event, joined as the SSE spec says."""
    lines = []
    for line in event.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"):
        if line.startswith(b"data:"):
            value = line[5:]
            lines.append(value[1:] if value.startswith(b" ") else value)
    return b"\n".join(lines)


def _event_status(error: Mapping[str, Any]) -> int | None:
    """The HTTP status an error event stands for: the number it carries, else its words."""
    for field in ("code", "status_code", "status"):
        value = error.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and 400 <= value <= 599:
            return value
    words = " ".join(str(error.get(field) or "") for field in ("type", "code")).lower()
    message = str(error.get("message") or "").lower()
    if any(word in words for word in ("insufficient", "payment", "billing", "credit")):
        return 402
    if any(word in words for word in ("rate_limit", "rate-limit", "too_many_requests")):
        return 429
    if "rate limit" in message or "limit exceeded" in message or "too many requests" in message:
        return 429
    if any(word in words for word in ("authentication", "invalid_api_key", "unauthorized")):
        return 401
    if any(word in words for word in ("permission", "forbidden")):
        return 403
    return None


def stopped_reply(provider: Provider, path: str) -> tuple[int, bytes, dict[str, str]]:
    """(status, body, headers) answering a request stopped before its response began."""
    return final_reply(provider, path, STOPPED_STATUS, STOPPED_MESSAGE, STOPPED_CODE)


def held_reply(provider: Provider, path: str, message: str) -> tuple[int, bytes, dict[str, str]]:
    """(status, body, headers) refusing a request of an account traywidget holds: never forwarded."""
    return final_reply(provider, path, HELD_STATUS, message, HELD_CODE, "permission_error")


def final_reply(provider: Provider, path: str, status: int, message: str, code: str,
                anthropic_type: str = "api_error") -> tuple[int, bytes, dict[str, str]]:
    """An answer of traywidget's own in the shape the tool expects, that SDKs do not retry
    (x-should-retry: false, a status they do not retry by themselves)."""
    body, headers = error_in_dialect(provider, path, status, message, code, anthropic_type)
    return status, body, {**headers, "x-should-retry": "false"}


def error_in_dialect(provider: Provider, path: str, status: int, message: str, code: str,
                     anthropic_type: str = "api_error") -> tuple[bytes, dict[str, str]]:
    """(body, headers) of an error of traywidget's own in the shape the tool expects: Anthropic's for
    `messages`, else the provider's."""
    if is_messages_path(path):
        body = json.dumps({"type": "error", "error": {"type": anthropic_type, "message": message}}).encode()
        return body, {"Content-Type": "application/json"}
    return provider.error_reply(status, message, code)


def stopped_event(provider: Provider, path: str) -> bytes:
    """The last bytes of a stream stopped from traywidget: one error event, then the end."""
    if is_messages_path(path):
        payload = {"type": "error", "error": {"type": "api_error", "message": STOPPED_MESSAGE}}
        return b"event: error\ndata: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"
    return provider.stream_error_event(STOPPED_MESSAGE, STOPPED_CODE)
