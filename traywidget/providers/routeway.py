"""Routeway: per-key request limits (minute / day) and the account balance,
readable only with a management key.

  GET account/keys     {"data": [AccountKeyItem]}  (management key; the account's own
                       row is found by matching the API key's visible ends to the masked `key`)
  GET account/balance  {"balance": 4.20}            (management key)

A plain API key has no usage endpoint: without a management key nothing is
polled and notes() says so. Rate-limit headers X-RateLimit-{Limit,Remaining,
Reset}-{Minute,Day} and Retry-After come on rate-limited responses and on
every 429 (parsed by headers.py).

Errors: {"error": {"message", "type", "code": int|str, ...}}; two 429 forms:
  new   {"error": {"message", "type": "rate_limit_error", "code": "rate_limit_exceeded", "status_code": 429, ...}}
  older {"error": {"message", "type": "error", "tip", "code": 429}}
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from traywidget.i18n import tr_noop
from traywidget.model import (
    BALANCE,
    REQUESTS_DAY,
    REQUESTS_MINUTE,
    ErrorInfo,
    HttpResult,
    Meter,
    ProviderError,
    State,
    Unit,
    clean_number,
)
from traywidget.providers.base import (
    DONE_EVENT,
    Credential,
    KeyHint,
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
from traywidget.providers.headers import HeaderWindow, parse_rate_limit_headers
from traywidget.providers.meters import request_meter, usd
from traywidget.providers.names import DISPLAY_NAMES
from traywidget.providers.resets import as_utc, next_utc_midnight, seconds_until

ACCOUNT_KEYS = "account_keys"
BALANCE_REQUEST = "balance"

NO_MANAGEMENT_KEY_NOTE = tr_noop(
    "Routeway has no usage endpoint for API keys: add a management key to see requests left and balance."
)
# Once the user's own traffic through the gateway has been seen, its rate-limit headers fill the windows.
TRAFFIC_ONLY_NOTE = tr_noop(
    "Requests left come from your traffic through the gateway; a management key adds the balance."
)
KEY_NOT_FOUND_MESSAGE = tr_noop("The API key was not found among this management key's keys")

# A run of masking characters between the visible beginning and end of a key.
_MASK_RUN = re.compile(r"(?:\.{2,}|[*…•·]+)")

_AUTH_TYPES = {"authentication_error", "permission_error"}
_PAYMENT_WORDS = re.compile(r"(?i)insufficient[ _-]?(balance|credit|fund)|payment[ _-]?required|top[ -]?up")


def _visible_ends(masked: str) -> tuple[str, str] | None:
    """(visible beginning, visible end) of a masked key ("sk-abc...wxyz",
    "clsk-12****cdef", "rw-1…9f"); an unmasked key gives (key, key)."""
    text = masked.strip()
    if not text or len(text) > 512:
        return None
    runs = list(_MASK_RUN.finditer(text))
    if not runs:
        return text, text
    return text[: runs[0].start()], text[runs[-1].end():]


def match_score(masked: Any, hint: KeyHint) -> int | None:
    """How many visible characters of `masked` agree with the key's ends, or
    None if any visible character disagrees or the end cannot be compared."""
    if not isinstance(masked, str):
        return None
    ends = _visible_ends(masked)
    if ends is None:
        return None
    start, end = ends
    n_start = min(len(start), len(hint.prefix))
    n_end = min(len(end), len(hint.suffix))
    # The end must be compared: a shared prefix alone ("sk-") says nothing about which key.
    if n_end == 0:
        return None
    if start[:n_start] != hint.prefix[:n_start]:
        return None
    if end[len(end) - n_end:] != hint.suffix[len(hint.suffix) - n_end:]:
        return None
    return n_start + n_end


def find_key_row(rows: list[Any], hint: KeyHint | None) -> dict[str, Any] | None | str:
    """The row of the configured key; None when none matches; "ambiguous" when
    several match equally well."""
    dict_rows = [row for row in rows if isinstance(row, dict)]
    if hint is None:
        return dict_rows[0] if len(dict_rows) == 1 else None
    scored = [(score, row) for row in dict_rows if (score := match_score(row.get("key"), hint)) is not None]
    if not scored:
        return None
    best = max(score for score, _ in scored)
    best_rows = [row for score, row in scored if score == best]
    if len(best_rows) > 1:
        return "ambiguous"
    return best_rows[0]


class Routeway(Provider):
    id = "routeway"
    display_name = DISPLAY_NAMES["routeway"]
    default_base_url = "https://api.routeway.ai/v1"
    known_hosts = ("api.routeway.ai",)
    management_key_hint = tr_noop("Routeway shows usage only with a management key (create one in its dashboard).")
    supports_kill = False
    # X-RateLimit-*-Minute/-Day arrive on rate-limited models' answers: the key's own windows.
    traffic_windows = {"minute": REQUESTS_MINUTE, "day": REQUESTS_DAY}

    def error_reply(self, status: int, message: str, code: str) -> tuple[bytes, dict[str, str]]:
        body = {"error": {"message": message, "type": "api_error", "code": code}}
        return json.dumps(body).encode(), {"Content-Type": "application/json"}

    def stream_error_event(self, message: str, code: str) -> bytes:
        return sse_data({"error": {"message": message, "type": "api_error", "code": code}}) + DONE_EVENT

    def poll_requests(self, full: bool, ctx: PollContext) -> list[RequestSpec]:
        if not ctx.has_management_key:
            return []
        specs = [RequestSpec(ACCOUNT_KEYS, "account/keys", credential=Credential.MANAGEMENT)]
        if full:
            specs.append(
                RequestSpec(BALANCE_REQUEST, "account/balance", credential=Credential.MANAGEMENT, optional=True)
            )
        return specs

    def notes(self, ctx: PollContext) -> tuple[str, ...]:
        if not ctx.has_management_key:
            return (TRAFFIC_ONLY_NOTE if ctx.seen_traffic else NO_MANAGEMENT_KEY_NOTE,)
        return ()

    # -- success ---------------------------------------------------------

    def parse(self, spec: RequestSpec, result: HttpResult, ctx: PollContext) -> Reading:
        data = decode_json(result.body)
        if data is NOT_JSON:
            raise malformed("Routeway response is not JSON", result.status)
        if not isinstance(data, dict):
            raise malformed("Routeway response is not a JSON object", result.status)
        if spec.name == ACCOUNT_KEYS:
            return self._parse_keys(data, result, ctx)
        if spec.name == BALANCE_REQUEST:
            balance = usd(data.get("balance"))
            if balance is None and isinstance(data.get("data"), dict):
                balance = usd(data["data"].get("balance"))
            if balance is None:
                raise malformed("balance response has no balance", result.status)
            return Reading(meters=(Meter(name=BALANCE, unit=Unit.USD, remaining=balance),))
        raise malformed(f"unexpected request {spec.name!r}", result.status)

    def _parse_keys(self, data: dict[str, Any], result: HttpResult, ctx: PollContext) -> Reading:
        rows = data.get("data")
        if not isinstance(rows, list):
            raise malformed('account/keys has no "data" list', result.status)
        row = find_key_row(rows, ctx.key_hint)
        if row == "ambiguous":
            raise provider_error(
                State.ERROR,
                "Several of this management key's keys match the API key's visible ends; cannot tell which is yours",
                result.status,
                code="KEY_AMBIGUOUS",
            )
        if not isinstance(row, dict):
            # The management key works but does not list this API key: a wrong
            # management key or a deleted API key. Either way the user has to fix
            # a credential, so AUTH_ERROR (not a transient ERROR worth retrying).
            raise provider_error(State.AUTH_ERROR, KEY_NOT_FOUND_MESSAGE, result.status, code="KEY_NOT_FOUND")

        if all(clean_number(row.get(k)) is None for k in ("daily_limit", "minute_limit", "usage_today",
                                                          "usage_minute")):
            raise malformed("the key's row in account/keys has no usable number", result.status)
        now = as_utc(ctx.now)
        minute = request_meter(
            REQUESTS_MINUTE,
            limit=row.get("minute_limit"),
            used=row.get("usage_minute"),
            resets_at=now + timedelta(seconds=60),
            approximate_reset=True,
        )
        day = request_meter(
            REQUESTS_DAY,
            limit=row.get("daily_limit"),
            used=row.get("usage_today"),
            resets_at=next_utc_midnight(now),
        )

        # Rate-limit headers, where present, are fresher than the counters; but
        # on account/... they may describe the management API's own limits
        # (60/min), so they only override a meter whose limit they agree with.
        info = parse_rate_limit_headers(result.headers, now)
        minute, minute_from_headers = _apply_window(minute, info.window("minute"))
        day, day_from_headers = _apply_window(day, info.window("day"))
        rate_limited = None
        # A 200 whose headers say a window is used up: the next request would be a 429.
        for meter, from_headers, kind, message in (
            (day, day_from_headers, "daily", tr_noop("Routeway daily limit reached")),
            (minute, minute_from_headers, "minute", tr_noop("Routeway per-minute limit reached")),
        ):
            if from_headers and meter.remaining == 0:
                retry = info.retry_after_s
                if retry is None:
                    retry = seconds_until(meter.resets_at, now)
                rate_limited = ErrorInfo(
                    message=message,
                    http_status=result.status,
                    code="rate_limit_exceeded",
                    retry_after_s=retry,
                    limit_kind=kind,
                )
                break
        return Reading(meters=(minute, day), rate_limited=rate_limited)

    # -- errors ----------------------------------------------------------

    def error_for(self, spec: RequestSpec, result: HttpResult, ctx: PollContext) -> ProviderError:
        status = result.status
        data = decode_json(result.body)
        error = data.get("error") if isinstance(data, dict) else None
        message = etype = code = None
        raw_code: Any = None
        if isinstance(error, dict):
            message = bound_message(error.get("message"))
            etype = bound_code(error.get("type"))
            raw_code = error.get("code")
            code = bound_code(raw_code)
        elif isinstance(data, dict):
            message = bound_message(data.get("message"))
        if message is None:
            message = fallback_message(result)
        etype_l = (etype or "").lower()
        code_l = (code or "").lower()
        body_status = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
        if body_status is None and isinstance(error, dict):
            sc = error.get("status_code")
            body_status = sc if isinstance(sc, int) and not isinstance(sc, bool) else None

        if status == 429 or etype_l == "rate_limit_error" or code_l == "rate_limit_exceeded":
            state = State.RATE_LIMITED
        elif status == 402 or body_status == 402 or "insufficient" in code_l or _PAYMENT_WORDS.search(message):
            state = State.PAYMENT_REQUIRED
        elif status in (401, 403) or etype_l in _AUTH_TYPES:
            state = State.AUTH_ERROR
        else:
            # 5xx → ERROR; otherwise (400, 404, ...) the body's own status decides.
            state = state_for_status(status) or state_for_status(body_status or 0) or State.ERROR

        info = parse_rate_limit_headers(result.headers, ctx.now)
        retry = info.retry_after_s
        limit_kind = None
        if state is State.RATE_LIMITED:
            limit_kind = limit_kind_from_text(message)
            minute, day = info.window("minute"), info.window("day")
            exhausted = None
            if limit_kind == "minute" and minute is not None and minute.remaining == 0:
                # The message names the minute limit: wait for the minute window, not until midnight.
                exhausted = ("minute", minute)
            elif day is not None and day.remaining == 0:
                exhausted = ("daily", day)
            elif minute is not None and minute.remaining == 0:
                exhausted = ("minute", minute)
            if limit_kind is None and exhausted is not None:
                limit_kind = exhausted[0]
            if retry is None and exhausted is not None:
                retry = seconds_until(exhausted[1].resets_at, ctx.now)
        return provider_error(
            state, message, status, code=code or etype, retry_after_s=retry, limit_kind=limit_kind
        )


def _apply_window(meter: Meter, window: HeaderWindow | None) -> tuple[Meter, bool]:
    """(meter with the header window's remaining and reset, True) when the
    window states the same limit as the meter; (meter, False) otherwise."""
    if window is None or window.remaining is None or window.limit is None or meter.limit is None:
        return meter, False
    if window.limit != meter.limit:
        return meter, False
    remaining = min(window.remaining, meter.limit)
    used = meter.used
    if used is None:
        used = max(0.0, meter.limit - remaining)
    merged = Meter(
        name=meter.name,
        unit=meter.unit,
        used=used,
        limit=meter.limit,
        remaining=remaining,
        resets_at=window.resets_at or meter.resets_at,
        estimated=meter.estimated,
        approximate_reset=meter.approximate_reset if window.resets_at is None else False,
    )
    return merged, True
