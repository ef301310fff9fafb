"""What the balance-only providers (DeepSeek, Moonshot) share: their error bodies and what a
balance at or below zero means. Pure translation, no I/O."""

from __future__ import annotations

from typing import Any

from traywidget.model import HttpResult, ProviderError, State
from traywidget.providers.decoding import (
    decode_json,
    error_fields,
    fallback_message,
    limit_kind_from_text,
    provider_error,
    state_for_status,
)
from traywidget.providers.headers import parse_rate_limit_headers

_PAYMENT_WORDS = ("insufficient", "balance", "payment", "billing", "suspended", "exceeded_current_quota")


def openai_style_error(result: HttpResult, now: Any) -> ProviderError:
    """A refusal in OpenAI's error shape ({"error": {"message", "type", "code"}}) as DeepSeek and
    Moonshot send it: 401 key, 402 (DeepSeek "Insufficient Balance") or a balance word → payment,
    429 rate limit, 5xx error."""
    message, code, etype = error_fields(decode_json(result.body))
    if message is None:
        message = fallback_message(result)
    words = f"{etype or ''} {code or ''} {message}".lower()
    if result.status == 402 or (result.status in (400, 403, 429) and any(w in words for w in _PAYMENT_WORDS)):
        state = State.PAYMENT_REQUIRED
    else:
        state = state_for_status(result.status) or State.ERROR
    info = parse_rate_limit_headers(result.headers, now)
    limit_kind = limit_kind_from_text(message, etype) if state is State.RATE_LIMITED else None
    return provider_error(state, message, result.status, code=etype or code, retry_after_s=info.retry_after_s,
                          limit_kind=limit_kind)
