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

from typing import Any

from traywidget.i18n import tr_noop
from traywidget.model import (
    INPUT_TOKENS_WINDOW,
    OUTPUT_TOKENS_WINDOW,
    REQUESTS_DAY,
    REQUESTS_MINUTE,
    REQUESTS_WINDOW,
    TOKENS_WINDOW,
    HttpResult,
    ProviderError,
    State,
)
from traywidget.providers.names import DISPLAY_NAMES
from traywidget.providers.base import PollContext, Provider, Reading, RequestSpec
from traywidget.providers.decoding import (
    bound_code,
    bound_message,
    decode_json,
    fallback_message,
    limit_kind_from_text,
    malformed,
    provider_error,
    state_for_status,
)
from traywidget.providers.headers import parse_rate_limit_headers
from traywidget.providers.resets import seconds_until

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
    }

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
        message, code, kind = _error_fields(decode_json(result.body))
        if message is None:
            message = fallback_message(result)
        words = f"{code or ''} {kind or ''}".lower()
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


def _error_fields(data: Any) -> tuple[str | None, str | None, str | None]:
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
