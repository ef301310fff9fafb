"""OpenRouter: a key's USD credit limit, free-model requests per day, and
(with a management key) the account balance.

  GET key      {"data": {label, limit, limit_reset, limit_remaining, usage, usage_daily,
                usage_weekly, usage_monthly, is_free_tier, free_model_daily_requests?, ...}}
  GET credits  {"data": {total_credits, total_usage}}  (management key only)

Errors are JSON {"error": {"code": <HTTP status>, "message", "metadata"?: {"error_type"}}}.
The deprecated `rate_limit` object in the key response is ignored. No kill endpoint.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from traywidget.i18n import Listing, Money, Phrase, tr_noop
from traywidget.model import (
    BALANCE,
    CREDITS,
    FREE_REQUESTS_DAY,
    REQUESTS_MINUTE,
    HttpResult,
    Meter,
    ProviderError,
    State,
    Unit,
    clean_number,
    parse_iso,
)
from traywidget.providers.base import (
    DONE_EVENT,
    Credential,
    PollContext,
    Provider,
    Reading,
    RequestSpec,
    sse_data,
)
from traywidget.providers.decoding import (
    NOT_JSON,
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
from traywidget.providers.meters import plan_text, request_meter, usd
from traywidget.providers.names import DISPLAY_NAMES
from traywidget.providers.resets import (
    as_utc,
    first_of_next_month_utc,
    next_monday_utc,
    next_utc_midnight,
    seconds_until,
)

KEY = "key"
CREDITS_REQUEST = "credits"

# Free-model daily caps documented by OpenRouter: 50 requests/day while the
# account has bought fewer than 10 credits, 1000/day once it has bought at
# least 10. `is_free_tier` means "has never paid", so True → 50; False only
# says it paid *something*, so 1000 is a best estimate (it may still be 50).
FREE_DAILY_CAP_UNPAID = 50
FREE_DAILY_CAP_PAID = 1000

_USAGE_FIELD = {"daily": "usage_daily", "weekly": "usage_weekly", "monthly": "usage_monthly"}


class OpenRouter(Provider):
    id = "openrouter"
    display_name = DISPLAY_NAMES["openrouter"]
    default_base_url = "https://openrouter.ai/api/v1"
    known_hosts = ("openrouter.ai",)
    management_key_hint = tr_noop("Optional: a management key adds the account's credit balance.")
    supports_kill = False

    def traffic_meter_names(self, limit_kind: str | None, base_url: str = "") -> dict[str, str]:
        # Success responses carry no rate-limit headers; a 429 on a free model
        # carries X-RateLimit-* for the window its message names.
        return {"minute": {"requests": REQUESTS_MINUTE}, "daily": {"requests": FREE_REQUESTS_DAY}}.get(
            limit_kind or "", {})

    def error_reply(self, status: int, message: str, code: str) -> tuple[bytes, dict[str, str]]:
        body = {"error": {"code": status, "message": message, "metadata": {"error_type": code}}}
        return json.dumps(body).encode(), {"Content-Type": "application/json"}

    def stream_error_event(self, message: str, code: str) -> bytes:
        # OpenRouter's mid-stream error: a chunk with a top-level error and finish_reason "error".
        chunk = {"object": "chat.completion.chunk",
                 "error": {"code": code, "message": message},
                 "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]}
        return sse_data(chunk) + DONE_EVENT

    def poll_requests(self, full: bool, ctx: PollContext) -> list[RequestSpec]:
        specs = [RequestSpec(KEY, "key")]
        if full and ctx.has_management_key:
            specs.append(RequestSpec(CREDITS_REQUEST, "credits", credential=Credential.MANAGEMENT, optional=True))
        return specs

    # -- success ---------------------------------------------------------

    def parse(self, spec: RequestSpec, result: HttpResult, ctx: PollContext) -> Reading:
        data = decode_json(result.body)
        if data is NOT_JSON:
            raise malformed("OpenRouter response is not JSON", result.status)
        if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
            raise malformed('OpenRouter response has no "data" object', result.status)
        inner = data["data"]
        if spec.name == KEY:
            return self._parse_key(inner, ctx)
        if spec.name == CREDITS_REQUEST:
            return self._parse_credits(inner, result)
        raise malformed(f"unexpected request {spec.name!r}", result.status)

    def _parse_key(self, data: dict[str, Any], ctx: PollContext) -> Reading:
        now = as_utc(ctx.now)
        notes: list[str] = []
        free_raw = data.get("free_model_daily_requests")
        numbers = [data.get(k) for k in ("usage", "usage_daily", "usage_weekly", "usage_monthly", "limit",
                                         "limit_remaining")]
        if isinstance(free_raw, dict):
            numbers += [free_raw.get(k) for k in ("limit", "remaining", "used")]
        if all(clean_number(value) is None for value in numbers):
            # A key answer always has `usage` (0 for a new key): every number being a
            # string, NaN, negative or absurd means this is not a usage answer.
            raise malformed("OpenRouter key response has no usable number")

        # Credits on the key (USD). limit null = no cap on this key.
        reset_kind = data.get("limit_reset")
        reset_kind = reset_kind.strip().lower() if isinstance(reset_kind, str) else None
        resets_at = {
            "daily": next_utc_midnight,
            "weekly": next_monday_utc,
            "monthly": first_of_next_month_utc,
        }.get(reset_kind or "", lambda _now: None)(now)
        used = clean_number(data.get(_USAGE_FIELD.get(reset_kind or "", "usage")))
        if used is None:
            used = clean_number(data.get("usage")) if reset_kind is None else None
        limit = clean_number(data.get("limit"))
        remaining = None
        if limit is not None:
            remaining = clean_number(data.get("limit_remaining"))
            if remaining is None and used is not None:
                remaining = max(0.0, limit - used)
            if remaining is not None:
                remaining = min(remaining, limit)
        credits = Meter(
            name=CREDITS,
            unit=Unit.USD,
            used=used,
            limit=limit,
            remaining=remaining,
            resets_at=resets_at if limit is not None else None,
        )

        # Free-model requests today.
        is_free_tier = data.get("is_free_tier")
        free = data.get("free_model_daily_requests")
        if isinstance(free, dict) and any(clean_number(free.get(k)) is not None
                                          for k in ("limit", "remaining", "used")):
            free_meter = request_meter(
                FREE_REQUESTS_DAY,
                limit=free.get("limit"),
                used=free.get("used"),
                remaining=free.get("remaining"),
                resets_at=next_utc_midnight(now),
                zero_limit_means_uncapped=False,
            )
        else:
            cap = FREE_DAILY_CAP_PAID if is_free_tier is False else FREE_DAILY_CAP_UNPAID
            free_meter = request_meter(
                FREE_REQUESTS_DAY,
                limit=cap,
                resets_at=next_utc_midnight(now),
                estimated=True,
            )
            notes.append(Phrase(
                "Free-model requests: OpenRouter did not report usage; {cap}/day is the documented cap "
                "(50 until 10 credits are bought, then 1000), an estimate.", cap=cap))

        # Spend in the current UTC day / week (from Monday) / month.
        spent = []
        for label, field in ((tr_noop("today {amount}"), "usage_daily"), (tr_noop("week {amount}"), "usage_weekly"),
                             (tr_noop("month {amount}"), "usage_monthly")):
            amount = clean_number(data.get(field))
            if amount is not None:
                spent.append(Phrase(label, amount=Money(amount, 4 if 0 < abs(amount) < 0.01 else 2)))
        if spent:
            notes.append(Phrase("Spent {amounts}", amounts=Listing(spent)))

        expires = parse_iso(data.get("expires_at")) if isinstance(data.get("expires_at"), str) else None
        if expires is not None:
            try:
                if expires <= now:
                    notes.append(tr_noop("This key has expired."))
                elif expires - now <= timedelta(days=7):
                    notes.append(Phrase("This key expires {time} UTC.", time=expires.strftime("%Y-%m-%d %H:%M")))
            except (TypeError, ValueError, OverflowError):
                pass

        plan: str | None = None
        if isinstance(is_free_tier, bool):
            plan = Phrase("Free tier") if is_free_tier else Phrase("Paid")
        key_label = plan_text(data.get("label"), 40)
        # OpenRouter's default label is the masked key itself: not worth showing.
        if key_label and not key_label.lower().startswith("sk-or-"):
            plan = Listing((plan, key_label)) if plan else key_label

        return Reading(meters=(credits, free_meter), plan=plan, notes=tuple(notes))

    def _parse_credits(self, data: dict[str, Any], result: HttpResult) -> Reading:
        total = usd(data.get("total_credits"))
        usage = usd(data.get("total_usage"))
        if total is None or usage is None:
            raise malformed("credits response lacks total_credits/total_usage", result.status)
        # May be negative: OpenRouter then answers 402 even for free models.
        balance = usd(total - usage)
        return Reading(meters=(Meter(name=BALANCE, unit=Unit.USD, used=usage if usage >= 0 else None,
                                     remaining=balance),))

    # -- errors ----------------------------------------------------------

    def error_for(self, spec: RequestSpec, result: HttpResult, ctx: PollContext) -> ProviderError:
        status = result.status
        data = decode_json(result.body)
        error = data.get("error") if isinstance(data, dict) else None
        message = None
        code = None
        body_status = None
        if isinstance(error, dict):
            message = bound_message(error.get("message"))
            metadata = error.get("metadata")
            if isinstance(metadata, dict):
                code = bound_code(metadata.get("error_type"))
            raw_code = error.get("code")
            if isinstance(raw_code, int) and not isinstance(raw_code, bool):
                body_status = raw_code
            elif code is None:
                code = bound_code(raw_code)
        elif isinstance(data, dict):
            message = bound_message(data.get("message"))
        if message is None:
            message = fallback_message(result)

        state = state_for_status(status)
        if state is None and body_status is not None:
            state = state_for_status(body_status)
        if state is None:
            state = State.ERROR

        info = parse_rate_limit_headers(result.headers, ctx.now)
        retry = info.retry_after_s
        window = info.window("requests")
        if retry is None and state is State.RATE_LIMITED and window is not None and window.remaining == 0:
            retry = seconds_until(window.resets_at, ctx.now)
        limit_kind = limit_kind_from_text(message, code) if state is State.RATE_LIMITED else None
        return provider_error(state, message, status, code=code, retry_after_s=retry, limit_kind=limit_kind)
