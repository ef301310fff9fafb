"""LiteLLM proxy, a virtual key: its spend against its budget, per window, and its rate limits.

  GET /key/info   (the key itself as Bearer, no query: the proxy answers for the caller's key)
  {"key": "<hash>", "info": {"key_alias", "spend", "max_budget" (null = no cap),
   "budget_duration" ("30d", "1h"), "budget_reset_at" (ISO), "tpm_limit", "rpm_limit", "models",
   "budget_limits": [{"budget_duration", "max_budget", "reset_at"}] (newer proxies),
   "budget_limits_usage": {"<duration>": {"current_spend"}}, ...}}

The proxy's routes sit at the root and under /v1; /key/info is read from the root whatever the
base URL ends in. Budgets are USD. Answers to the user's own traffic carry x-litellm-key-spend,
x-litellm-key-max-budget and x-litellm-response-cost; a spent budget is refused with
{"error": {"message": "Budget has been exceeded! ...", "type": "budget_exceeded", "code": "400"|"429"}}
(400 or 429 by version): "used up until the budget resets", never a rate limit.
"""

from __future__ import annotations

import re
from typing import Any

from traywidget.i18n import Listing, Phrase, tr_noop
from traywidget.model import (
    BUDGET,
    BUDGET_WINDOW_PREFIX,
    REQUESTS_MINUTE,
    TOKENS_MINUTE,
    HttpResult,
    Meter,
    ProviderError,
    Source,
    State,
    Unit,
    clean_number,
    clean_signed_number,
    parse_iso,
)
from traywidget.providers.base import PollContext, Provider, Reading, RequestSpec
from traywidget.providers.decoding import (
    NOT_JSON,
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
from traywidget.providers.meters import plan_text
from traywidget.providers.names import DISPLAY_NAMES
from traywidget.providers.resets import as_utc, seconds_until

KEY_INFO = "key_info"
BUDGET_EXCEEDED = "budget_exceeded"
# The budget windows a key can hold beyond its main one; more are ignored (a body is not a list of thousands).
MAX_BUDGET_WINDOWS = 8
_DURATION = re.compile(r"^\s*(\d{1,5})\s*(s|m|h|d|w|mo)\s*$")
_DURATION_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "mo": 30 * 86400}
_BUDGET_WORDS = re.compile(r"(?i)budget has been exceeded|exceeded budget|over budget|ExceededBudget")

NO_CAP_NOTE = tr_noop("This key has no budget: spend is shown without a cap.")
LIMITS_NOTE = tr_noop("Key limits: {limits}.")


def duration_seconds(text: Any) -> float | None:
    """Seconds in a LiteLLM duration ("30s", "1h", "30d", "1mo"), or None."""
    if not isinstance(text, str):
        return None
    match = _DURATION.match(text)
    if match is None:
        return None
    return float(int(match.group(1)) * _DURATION_S[match.group(2)])


class LiteLLM(Provider):
    id = "litellm"
    display_name = DISPLAY_NAMES["litellm"]
    # LiteLLM's proxy listens on port 4000 by default; a team's proxy is set with --base-url.
    default_base_url = "http://localhost:4000/v1"
    management_key_hint = tr_noop("Your proxy's virtual key (sk-…); no management key. Base URL: your proxy's.")
    supports_kill = False
    serves_messages = True
    # The proxy passes on its upstream's OpenAI-style headers, and its own per-key limits as
    # x-ratelimit-{remaining,limit}-{requests,tokens} (per minute).
    traffic_windows = {"requests": REQUESTS_MINUTE, "tokens": TOKENS_MINUTE}

    def poll_requests(self, full: bool, ctx: PollContext) -> list[RequestSpec]:
        return [RequestSpec(KEY_INFO, "key/info", from_root=True)]

    def traffic_auth_headers(self, secret: str, client_header: str) -> dict[str, str]:
        # LiteLLM takes Anthropic's x-api-key on its /v1/messages route as well as a Bearer key.
        if client_header == "x-api-key":
            return {"x-api-key": secret}
        return self.auth_headers(secret)

    # -- success ---------------------------------------------------------

    def parse(self, spec: RequestSpec, result: HttpResult, ctx: PollContext) -> Reading:
        data = decode_json(result.body)
        if data is NOT_JSON:
            raise malformed("LiteLLM response is not JSON", result.status)
        info = data.get("info") if isinstance(data, dict) else None
        if not isinstance(info, dict):
            raise malformed('LiteLLM key/info has no "info" object', result.status)
        spend = clean_number(_as_number(info.get("spend")))
        if spend is None:
            raise malformed("LiteLLM key/info has no spend", result.status)
        now = as_utc(ctx.now)
        notes: list[str] = []
        limit = clean_signed_number(_as_number(info.get("max_budget")))
        resets_at = parse_iso(info.get("budget_reset_at")) if isinstance(info.get("budget_reset_at"), str) else None
        if resets_at is not None and resets_at <= now:
            resets_at = None  # the proxy resets lazily: a past reset says nothing about the next one
        meters = [_budget_meter(BUDGET, spend, limit, resets_at)]
        if limit is None:
            notes.append(NO_CAP_NOTE)
        meters.extend(_window_meters(info, now))
        # The key's own per-minute caps: key/info says the cap, not how much of it is left (that
        # arrives in the x-ratelimit-* headers of the traffic through the gateway), so a note, not a meter.
        limits = []
        for field, label in (("rpm_limit", tr_noop("{n} requests/min")), ("tpm_limit", tr_noop("{n} tokens/min"))):
            cap = clean_number(_as_number(info.get(field)))
            if cap is not None and cap > 0:
                limits.append(Phrase(label, n=int(cap)))
        if limits:
            notes.append(Phrase(LIMITS_NOTE, limits=Listing(limits, ", ")))
        return Reading(meters=tuple(meters), plan=plan_text(info.get("key_alias"), 40), notes=tuple(notes))

    def traffic_money_meters(self, result: HttpResult, ctx: PollContext) -> tuple[Meter, ...]:
        """x-litellm-key-spend (and -max-budget) on an answer: the key's budget as of this request; on a
        budget_exceeded refusal, the figures its message names ("Current cost: 26.07, Max budget: 0.25")."""
        spend = clean_number(_as_number(result.header("x-litellm-key-spend")))
        limit = clean_signed_number(_as_number(result.header("x-litellm-key-max-budget")))
        if not result.ok and _is_budget_refusal(result):
            figures = _BUDGET_FIGURES.search(fallback_message(result) if decode_json(result.body) is NOT_JSON
                                             else _error_message(decode_json(result.body)) or "")
            if figures is not None:
                spend = clean_number(_as_number(figures.group(1))) if spend is None else spend
                limit = clean_signed_number(_as_number(figures.group(2))) if limit is None else limit
            if spend is not None and limit is None:
                limit = spend  # refused for its budget: whatever the cap, nothing is left
        if spend is None:
            return ()
        meter = _budget_meter(BUDGET, spend, limit, None)
        return (Meter(name=meter.name, unit=meter.unit, used=meter.used, limit=meter.limit, remaining=meter.remaining,
                      source=Source.TRAFFIC, seen_at=ctx.now),)

    # -- errors ----------------------------------------------------------

    def error_for(self, spec: RequestSpec, result: HttpResult, ctx: PollContext) -> ProviderError:
        status = result.status
        data = decode_json(result.body)
        message, code, etype = error_fields(data)
        if message is None and isinstance(data, dict):  # FastAPI's own refusals: {"detail": "..."}
            message = bound_message(data.get("detail"))
        if message is None:
            message = fallback_message(result)
        info = parse_rate_limit_headers(result.headers, ctx.now)
        if _is_budget_refusal(result):
            # The budget is spent: used up until it resets (or someone raises it), not a rate limit.
            return provider_error(State.EXHAUSTED, message, status, code=BUDGET_EXCEEDED,
                                  retry_after_s=info.retry_after_s, limit_kind="budget")
        state = state_for_status(status)
        if state is None:
            state = State.AUTH_ERROR if "auth" in (etype or "").lower() else State.ERROR
        retry = info.retry_after_s
        limit_kind = limit_kind_from_text(message, etype) if state is State.RATE_LIMITED else None
        if state is State.RATE_LIMITED and retry is None:
            waits = [seconds_until(w.resets_at, ctx.now) for w in info.windows if w.remaining == 0]
            retry = min((w for w in waits if w is not None), default=None)
        return provider_error(state, message, status, code=etype or code, retry_after_s=retry, limit_kind=limit_kind)


_BUDGET_FIGURES = re.compile(r"(?i)current cost:\s*([0-9.eE+-]+).*?max budget:\s*(-?[0-9.eE+-]+)")


def _error_message(data: Any) -> str | None:
    error = data.get("error") if isinstance(data, dict) else None
    return bound_message(error.get("message")) if isinstance(error, dict) else None


def _is_budget_refusal(result: HttpResult) -> bool:
    """A 400 or 429 (by version) whose error type is budget_exceeded, or whose message says so."""
    if result.status not in (400, 429):
        return False
    data = decode_json(result.body)
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and isinstance(error.get("type"), str) and error["type"].lower() == BUDGET_EXCEEDED:
        return True
    message = _error_message(data)
    return bool(message and _BUDGET_WORDS.search(message))


def _as_number(value: Any) -> Any:
    """LiteLLM sends numbers, but a header or an older proxy may send them as text."""
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return value


def _budget_meter(name: str, spend: float, limit: float | None, resets_at: Any) -> Meter:
    """Spend against a budget in USD; no budget → spend only ("no cap"). A budget of 0 or below
    allows nothing: 0 left."""
    if limit is None:
        return Meter(name=name, unit=Unit.USD, used=spend)
    cap = max(0.0, limit)
    return Meter(name=name, unit=Unit.USD, used=spend, limit=cap, remaining=max(0.0, cap - spend),
                 resets_at=resets_at)


def _window_meters(info: dict[str, Any], now: Any) -> list[Meter]:
    """One meter per entry of budget_limits, spend from budget_limits_usage[duration]."""
    windows = info.get("budget_limits")
    usage = info.get("budget_limits_usage")
    if not isinstance(windows, list):
        return []
    usage = usage if isinstance(usage, dict) else {}
    meters: list[Meter] = []
    for entry in windows[:MAX_BUDGET_WINDOWS]:
        if not isinstance(entry, dict):
            continue
        duration = entry.get("budget_duration")
        if not isinstance(duration, str) or duration_seconds(duration) is None:
            continue
        name = BUDGET_WINDOW_PREFIX + duration.strip()
        if any(m.name == name for m in meters):
            continue
        limit = clean_signed_number(_as_number(entry.get("max_budget")))
        used_entry = usage.get(duration)
        spend = clean_number(_as_number(used_entry.get("current_spend"))) if isinstance(used_entry, dict) else None
        raw_reset = entry.get("reset_at") or entry.get("budget_reset_at")
        resets_at = parse_iso(raw_reset) if isinstance(raw_reset, str) else None
        if resets_at is not None and resets_at <= now:
            resets_at = None
        if limit is None:
            continue
        cap = max(0.0, limit)
        meters.append(Meter(name=name, unit=Unit.USD, used=spend, limit=cap,
                            remaining=None if spend is None else max(0.0, cap - spend), resets_at=resets_at))
    return meters
