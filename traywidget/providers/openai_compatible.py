"""Any OpenAI-compatible API (OpenAI, Groq, DeepSeek, Together, Anthropic's /v1 ...).

Such a provider has no usage endpoint traywidget knows: nothing is polled, and
its meters come only from the rate-limit headers on the user's own traffic
through the local gateway (OpenAI `x-ratelimit-*`, Anthropic
`anthropic-ratelimit-*`, IETF `RateLimit`/`RateLimit-Policy`, Routeway-style
`X-RateLimit-*-Minute/-Day`). Until the first response passes, notes() says so
instead of guessing.

Errors: OpenAI's `{"error": {"message", "type", "param", "code"}}`, Anthropic's
`{"type": "error", "error": {"type", "message"}}`, or whatever a compatible
server sends (a bare `{"message"}`, plain text). OpenAI's 429
`insufficient_quota` is a billing problem, not a rate limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from traywidget.i18n import tr_noop
from traywidget.model import (
    INPUT_TOKENS_WINDOW,
    OUTPUT_TOKENS_WINDOW,
    REQUESTS_DAY,
    REQUESTS_HOUR,
    REQUESTS_MINUTE,
    REQUESTS_WINDOW,
    TOKENS_DAY,
    TOKENS_HOUR,
    TOKENS_MINUTE,
    TOKENS_WINDOW,
    USAGE_5H,
    USAGE_7D,
    HttpResult,
    ProviderError,
    State,
    clean_number,
)
from traywidget.providers.base import PollContext, Provider, Reading, RequestSpec
from traywidget.providers.decoding import (
    bound_code,
    bound_message,
    decode_json,
    error_fields,
    fallback_message,
    limit_kind_from_text,
    malformed,
    provider_error,
    state_for_status,
)
from traywidget.providers.headers import parse_rate_limit_headers
from traywidget.providers.names import DISPLAY_NAMES
from traywidget.providers.resets import next_midnight_in, seconds_until

NO_USAGE_ENDPOINT_NOTE = tr_noop(
    "This provider has no usage endpoint: numbers appear after the first request through the gateway."
)

_PAYMENT_WORDS = ("insufficient_quota", "insufficient", "billing", "payment", "credit")
_RATE_LIMIT_WORDS = ("rate_limit", "rate-limit", "too_many_requests")
_AUTH_WORDS = ("authentication", "invalid_api_key", "permission", "unauthorized", "forbidden")


class OpenAICompatible(Provider):
    id = "openai-compatible"
    display_name = DISPLAY_NAMES["openai-compatible"]
    # The API every compatible one copies; any other is set with --base-url.
    default_base_url = "https://api.openai.com/v1"
    supports_kill = False
    serves_messages = True
    traffic_windows = {
        "requests": REQUESTS_WINDOW,
        "tokens": TOKENS_WINDOW,
        "input-tokens": INPUT_TOKENS_WINDOW,
        "output-tokens": OUTPUT_TOKENS_WINDOW,
        "default": REQUESTS_WINDOW,
        "minute": REQUESTS_MINUTE,
        "day": REQUESTS_DAY,
        # Cerebras (and DigitalOcean's tokens-per-*): windows that name their length.
        "requests-minute": REQUESTS_MINUTE,
        "requests-hour": REQUESTS_HOUR,
        "requests-day": REQUESTS_DAY,
        "tokens-minute": TOKENS_MINUTE,
        "tokens-hour": TOKENS_HOUR,
        "tokens-day": TOKENS_DAY,
        # Fireworks: prompt and generated tokens per minute.
        "tokens-prompt": INPUT_TOKENS_WINDOW,
        "tokens-generated": OUTPUT_TOKENS_WINDOW,
        # Anthropic subscription traffic: 5-hour and 7-day windows, in percent.
        "unified-5h": USAGE_5H,
        "unified-7d": USAGE_7D,
    }

    def traffic_meter_names(self, limit_kind: str | None, base_url: str = "") -> Mapping[str, str]:
        if is_groq(base_url):
            # Groq sends OpenAI's names, but documents -requests as requests per day and -tokens as
            # tokens per minute (console.groq.com/docs/rate-limits).
            return {**self.traffic_windows, "requests": REQUESTS_DAY, "tokens": TOKENS_MINUTE}
        return self.traffic_windows

    def poll_requests(self, full: bool, ctx: PollContext) -> list[RequestSpec]:
        return []

    def notes(self, ctx: PollContext) -> tuple[str, ...]:
        return () if ctx.seen_traffic else (NO_USAGE_ENDPOINT_NOTE,)

    def parse(self, spec: RequestSpec, result: HttpResult, ctx: PollContext) -> Reading:
        raise malformed(f"unexpected request {spec.name!r}: this provider is never polled", result.status)

    def traffic_auth_headers(self, secret: str, client_header: str) -> dict[str, str]:
        # Anthropic-style tools send x-api-key, and Anthropic's API wants its key there;
        # every other compatible API takes a bearer token.
        if client_header == "x-api-key":
            return {"x-api-key": secret}
        return self.auth_headers(secret)

    def error_for(self, spec: RequestSpec, result: HttpResult, ctx: PollContext) -> ProviderError:
        status = result.status
        body = decode_json(result.body)
        gemini = gemini_quota_error(body, result, ctx.now)
        if gemini is not None:
            return gemini
        message, code, kind = error_fields(body)
        if message is None:
            message = fallback_message(result)
        words = f"{code or ''} {kind or ''}".lower()
        state: State | None
        if any(word in words for word in _PAYMENT_WORDS):
            state = State.PAYMENT_REQUIRED
        else:
            state = state_for_status(status)
            if state is None and any(word in words for word in _RATE_LIMIT_WORDS):
                state = State.RATE_LIMITED
            elif state is None and any(word in words for word in _AUTH_WORDS):
                state = State.AUTH_ERROR
            elif state is None:
                state = State.ERROR
        info = parse_rate_limit_headers(result.headers, ctx.now)
        retry = info.retry_after_s
        limit_kind = None
        if state is State.RATE_LIMITED:
            limit_kind = limit_kind_from_text(message, code)
            if retry is None:
                # The soonest reset of a window the headers say is used up.
                waits = [seconds_until(w.resets_at, ctx.now) for w in info.windows if w.remaining == 0]
                retry = min((w for w in waits if w is not None), default=None)
        return provider_error(state, message, status, code=code or kind, retry_after_s=retry,
                              limit_kind=limit_kind)


GROQ_HOSTS = ("api.groq.com",)


def is_groq(base_url: str) -> bool:
    """Whether the account's base URL is Groq's API (its headers name no window: decided by host)."""
    return (urlsplit(base_url).hostname or "").lower() in GROQ_HOSTS if base_url else False


_GO_SECONDS = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")
GEMINI_DAY_RESET_ZONE = "America/Los_Angeles"


def gemini_quota_error(body: Any, result: HttpResult, now: datetime) -> ProviderError | None:
    """Google Gemini's OpenAI-compatible 429: a RESOURCE_EXHAUSTED body (sometimes wrapped in a JSON
    array) whose QuotaFailure names the quota: a quotaId with PerDay is used up until the day's reset
    (midnight Pacific), PerMinute a short wait (RetryInfo.retryDelay, "36.429760048s"). It sends no
    rate-limit headers at all. None for any other body."""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or error.get("status") != "RESOURCE_EXHAUSTED":
        return None
    message = bound_message(error.get("message")) or fallback_message(result)
    quota_ids: list[str] = []
    retry: float | None = None
    details = error.get("details")
    for detail in details[:16] if isinstance(details, list) else ():
        if not isinstance(detail, dict):
            continue
        kind = detail.get("@type")
        if isinstance(kind, str) and kind.endswith("google.rpc.QuotaFailure"):
            violations = detail.get("violations")
            for violation in violations[:16] if isinstance(violations, list) else ():
                if isinstance(violation, dict) and isinstance(violation.get("quotaId"), str):
                    quota_ids.append(violation["quotaId"][:200])
        elif isinstance(kind, str) and kind.endswith("google.rpc.RetryInfo"):
            delay = detail.get("retryDelay")
            match = _GO_SECONDS.match(delay) if isinstance(delay, str) else None
            retry = clean_number(float(match.group(1))) if match else None
    per_day = any("perday" in quota.lower() for quota in quota_ids)
    per_minute = any("perminute" in quota.lower() for quota in quota_ids)
    limit_kind = "daily" if per_day else "minute" if per_minute else None
    if per_day:
        # Used up for the day: the wait is until Pacific midnight, whatever RetryInfo suggests.
        retry = seconds_until(next_midnight_in(GEMINI_DAY_RESET_ZONE, now), now)
    code = quota_ids[0] if quota_ids else "RESOURCE_EXHAUSTED"
    return provider_error(State.RATE_LIMITED, message, result.status, code=bound_code(code, 120),
                          retry_after_s=retry, limit_kind=limit_kind)
