"""routing.run: per-user request quotas (day / hour / rolling minute) and kill-all-streams.

Usage endpoints (they only read counters; they do not spend plan requests):
  GET user/requests         full: day, hour, minute windows + plan_tier
  GET user/requests/hourly  small, for the fast cadence: {limit, used, remaining, plan_tier}
  POST user/streams/kill    {"killed_streams": N}

Errors are mostly plain text with the code in X-Error-Code; a few are JSON
({"message": ...}, the per-IP limiter adds "retry_after"). Requests carry
X-API-Key and never Origin/Referer (routing.run refuses those on user/...).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from traywidget.model import (
    REQUESTS_DAY,
    REQUESTS_HOUR,
    REQUESTS_MINUTE,
    HttpResult,
    Meter,
    ProviderError,
    State,
    clean_number,
)
from traywidget.providers.base import (
    DONE_EVENT,
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
from traywidget.providers.headers import MAX_RETRY_AFTER_S, parse_rate_limit_headers
from traywidget.providers.meters import plan_text, request_meter
from traywidget.providers.names import DISPLAY_NAMES
from traywidget.providers.resets import (
    as_utc,
    next_top_of_hour,
    next_utc_midnight,
    seconds_until,
)

HOURLY = "hourly"
REQUESTS = "requests"
KILL = "kill"

_FULL_FIELDS = (
    "requests_used_today",
    "requests_limit_today",
    "requests_remaining",
    "requests_used_this_hour",
    "requests_limit_this_hour",
    "requests_remaining_this_hour",
    "requests_used_this_minute",
    "requests_limit_per_minute",
    "requests_remaining_this_minute",
)
_HOURLY_FIELDS = ("limit", "used", "remaining")

# X-Error-Code → state, for statuses that do not decide on their own (400, 404, ...).
_CODE_STATES = {
    "AUTHENTICATION_ERROR": State.AUTH_ERROR,
    "AUTHORIZATION_ERROR": State.AUTH_ERROR,
    "MODEL_NOT_ALLOWED": State.AUTH_ERROR,
    "INSUFFICIENT_CREDITS": State.PAYMENT_REQUIRED,
    "RATE_LIMIT_ERROR": State.RATE_LIMITED,
    "DAILY_REQUEST_LIMIT_EXCEEDED": State.RATE_LIMITED,
    "PROVIDER_ERROR": State.ERROR,
    "CIRCUIT_BREAKER_OPEN": State.ERROR,
}


class RoutingRun(Provider):
    id = "routing.run"
    display_name = DISPLAY_NAMES["routing.run"]
    # Users of the mirror host use https://api.routing.sh/v1: the base URL is per account.
    default_base_url = "https://api.routing.run/v1"
    known_hosts = ("api.routing.run", "api.routing.sh", "ai.routing.sh")
    supports_kill = True

    def auth_headers(self, secret: str) -> dict[str, str]:
        # Never Origin/Referer: routing.run answers 403 "Access denied" to those on user/...
        return {"X-API-Key": secret}

    # Its X-RateLimit-Limit/Remaining headers count requests per IP, not the
    # plan quota: traffic turns none of them into meters.
    traffic_windows = {}

    def traffic_error(self, spec: RequestSpec, result: HttpResult, ctx: PollContext) -> ProviderError | None:
        # A model the plan does not include refuses one request, not the key.
        if (result.header("X-Error-Code") or "").strip().upper() == "MODEL_NOT_ALLOWED":
            return None
        return super().traffic_error(spec, result, ctx)

    def error_reply(self, status: int, message: str, code: str) -> tuple[bytes, dict[str, str]]:
        return message.encode(), {"Content-Type": "text/plain; charset=utf-8", "X-Error-Code": code.upper()}

    def stream_error_event(self, message: str, code: str) -> bytes:
        return sse_data({"error": {"message": message, "code": code.upper()}}) + DONE_EVENT

    def poll_requests(self, full: bool, ctx: PollContext) -> list[RequestSpec]:
        if full:
            return [RequestSpec(REQUESTS, "user/requests")]
        return [RequestSpec(HOURLY, "user/requests/hourly")]

    # -- success ---------------------------------------------------------

    def parse(self, spec: RequestSpec, result: HttpResult, ctx: PollContext) -> Reading:
        data = decode_json(result.body)
        if data is NOT_JSON:
            raise malformed("routing.run usage is not JSON", result.status)
        if not isinstance(data, dict):
            raise malformed("routing.run usage is not a JSON object", result.status)
        now = as_utc(ctx.now)
        plan = plan_text(data.get("plan_tier"))
        if spec.name == HOURLY:
            if not any(key in data for key in _HOURLY_FIELDS):
                raise malformed("routing.run hourly usage has none of limit/used/remaining", result.status)
            if all(clean_number(data.get(key)) is None for key in _HOURLY_FIELDS):
                raise malformed("routing.run hourly usage has no usable number", result.status)
            return Reading(meters=(self._hour(data.get("limit"), data.get("used"), data.get("remaining"), now),),
                           plan=plan)
        if spec.name == REQUESTS:
            if not any(key in data for key in _FULL_FIELDS):
                raise malformed("routing.run usage has no requests_* fields", result.status)
            if all(clean_number(data.get(key)) is None for key in _FULL_FIELDS):
                # Every count is a string, NaN, negative or absurd: not a usage answer.
                raise malformed("routing.run usage has no usable number", result.status)
            meters = (
                request_meter(
                    REQUESTS_MINUTE,
                    limit=data.get("requests_limit_per_minute"),
                    used=data.get("requests_used_this_minute"),
                    remaining=data.get("requests_remaining_this_minute"),
                    # Rolling window (inferred from their backend): "about a minute".
                    resets_at=now + timedelta(seconds=60),
                    approximate_reset=True,
                ),
                self._hour(
                    data.get("requests_limit_this_hour"),
                    data.get("requests_used_this_hour"),
                    data.get("requests_remaining_this_hour"),
                    now,
                ),
                request_meter(
                    REQUESTS_DAY,
                    limit=data.get("requests_limit_today"),
                    used=data.get("requests_used_today"),
                    remaining=data.get("requests_remaining"),
                    resets_at=next_utc_midnight(now),
                ),
            )
            return Reading(meters=meters, plan=plan)
        raise malformed(f"unexpected request {spec.name!r}", result.status)

    @staticmethod
    def _hour(limit: Any, used: Any, remaining: Any, now) -> Meter:
        # Lite reports 0/0 for the hour: no hourly cap, never "exhausted".
        return request_meter(
            REQUESTS_HOUR, limit=limit, used=used, remaining=remaining, resets_at=next_top_of_hour(now)
        )

    # -- errors ----------------------------------------------------------

    def error_for(self, spec: RequestSpec, result: HttpResult, ctx: PollContext) -> ProviderError:
        status = result.status
        code = bound_code(result.header("X-Error-Code"))
        code_upper = code.upper() if code else None
        data = decode_json(result.body)
        json_message = None
        json_retry = None
        is_json_object = isinstance(data, dict)
        if is_json_object:
            json_message = bound_message(data.get("message"))
            if json_message is None and isinstance(data.get("error"), dict):
                json_message = bound_message(data["error"].get("message"))
            json_retry = clean_number(data.get("retry_after"))
            if json_retry is not None and json_retry > MAX_RETRY_AFTER_S:
                json_retry = None
        message = json_message or fallback_message(result)

        state = state_for_status(status)
        if state is None:
            state = _CODE_STATES.get(code_upper or "", State.ERROR)

        info = parse_rate_limit_headers(result.headers, ctx.now)
        retry = info.retry_after_s
        if retry is None and json_retry is not None:
            retry = json_retry

        limit_kind = None
        if state is State.RATE_LIMITED:
            if code_upper == "DAILY_REQUEST_LIMIT_EXCEEDED":
                limit_kind = "daily"
            else:
                limit_kind = limit_kind_from_text(message)
            if limit_kind is None and is_json_object and ("retry_after" in data or code is None):
                # The per-IP limiter (600 requests / 60 s per path group) answers JSON.
                limit_kind = "ip"
            if retry is None and limit_kind == "ip":
                # Its X-RateLimit-* headers are per IP: fine for a retry hint, not a quota.
                window = info.window("requests")
                if window is not None and window.remaining == 0:
                    retry = seconds_until(window.resets_at, ctx.now)
        return provider_error(
            state, message, status, code=code, retry_after_s=retry, limit_kind=limit_kind
        )

    # -- kill ------------------------------------------------------------

    def kill_request(self) -> RequestSpec:
        return RequestSpec(KILL, "user/streams/kill", "POST")

    def parse_kill(self, result: HttpResult) -> int:
        data = decode_json(result.body)
        if not isinstance(data, dict):
            raise malformed("kill response is not a JSON object", result.status)
        value = data.get("killed_streams")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise malformed("kill response has no killed_streams count", result.status)
        number = clean_number(value)
        if number is None or not float(number).is_integer():
            raise malformed("killed_streams is not a count", result.status)
        return int(number)
