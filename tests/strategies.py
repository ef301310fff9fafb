"""Hypothesis strategies for everything that arrives from outside: JSON-ish
bodies (shaped like the documented ones, and not), raw bytes, rate-limit
headers, HTTP statuses and poll contexts. Shared by the provider fuzz tests and
the reliability suite."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import settings
from hypothesis import strategies as st

from traywidget.providers.base import KeyHint, PollContext


def examples(share: float) -> int:
    """`share` of the loaded profile's example count (tests/conftest.py), at least 10: a property
    that runs a whole engine per example takes fewer examples than one that parses a body."""
    return max(10, round(settings.default.max_examples * share))


numbers = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 0.0, -0.0, 1e15, 1e16, 1e308, 2**63, 50, 1000, float("nan"), float("inf")]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=20))

# Keys the adapters read, so random objects often hit real fields.
FIELD_NAMES = [
    "requests_used_today", "requests_limit_today", "requests_remaining", "requests_used_this_hour",
    "requests_limit_this_hour", "requests_remaining_this_hour", "requests_used_this_minute",
    "requests_limit_per_minute", "requests_remaining_this_minute", "plan_tier", "limit", "used", "remaining",
    "data", "label", "limit_reset", "limit_remaining", "usage", "usage_daily", "usage_weekly", "usage_monthly",
    "is_free_tier", "free_model_daily_requests", "expires_at", "total_credits", "total_usage", "balance",
    "key", "daily_limit", "minute_limit", "usage_today", "usage_minute", "killed_streams", "error", "message",
    "type", "code", "status_code", "metadata", "error_type", "retry_after", "tip", "api_key_id",
    # LiteLLM key/info, DeepSeek and Moonshot balances, Gemini's RESOURCE_EXHAUSTED body.
    "info", "spend", "max_budget", "budget_duration", "budget_reset_at", "budget_limits", "budget_limits_usage",
    "current_spend", "reset_at", "tpm_limit", "rpm_limit", "key_alias", "is_available", "balance_infos",
    "currency", "total_balance", "granted_balance", "topped_up_balance", "available_balance", "voucher_balance",
    "cash_balance", "status", "details", "@type", "violations", "quotaId", "retryDelay",
]
keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=10))
special_strings = st.sampled_from(
    ["daily", "weekly", "monthly", "CNY", "USD", "XXX", "1h", "30d", "1mo", "budget_exceeded", "RESOURCE_EXHAUSTED",
     "type.googleapis.com/google.rpc.QuotaFailure", "type.googleapis.com/google.rpc.RetryInfo",
     "GenerateRequestsPerDayPerProjectPerModel-FreeTier", "GenerateRequestsPerMinutePerProjectPerModel", "36.4s",
     "110.00", "-3.5", "Budget has been exceeded! Current cost: 26.075, Max budget: 0.25", "sk-abc...wxyz",
     "sk-abc12345", "****", "rate_limit_error", "authentication_error",
     "permission_error", "rate_limit_exceeded", "2025-03-05T10:00:00Z", "9999-12-31T23:59:59Z", "<html>", ""]
)
json_values = st.recursive(
    st.one_of(scalars, special_strings),
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(keys, children, max_size=8),
    ),
    max_leaves=30,
)
# Bodies shaped like the documented ones, with random values.
shaped = st.one_of(
    st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=12),
    st.builds(lambda d: {"data": d}, st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=12)),
    st.builds(lambda rows: {"data": rows},
              st.lists(st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=12), max_size=4)),
    st.builds(lambda e: {"error": e}, st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=8)),
    st.builds(lambda d: {"info": d}, st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=12)),
    st.builds(lambda rows, ok: {"is_available": ok, "balance_infos": rows},
              st.lists(st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=6), max_size=4),
              json_values),
    st.builds(lambda e: [{"error": e}], st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=8)),
)


def encode(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


bodies = st.one_of(
    st.builds(encode, json_values),
    st.builds(encode, shaped),
    st.binary(max_size=200),
    st.sampled_from([b"", b"{", b"[" * 5000 + b"]" * 5000, b'{"a":' * 3000, b"1" * 5000, b"\xff\xfe", b"<html></html>",
                     b"[" * 50_000, b'{"data":' * 2_000, b"NaN", b"1e999", b"-1", b'{"data": {"usage": 1e999}}']),
)

HEADER_NAMES = [
    "Retry-After", "retry-after-ms", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
    "X-RateLimit-Limit-Minute", "X-RateLimit-Remaining-Minute", "X-RateLimit-Reset-Minute",
    "X-RateLimit-Limit-Day", "X-RateLimit-Remaining-Day", "X-RateLimit-Reset-Day",
    "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
    "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens",
    "anthropic-ratelimit-requests-limit", "anthropic-ratelimit-requests-remaining",
    "anthropic-ratelimit-requests-reset",
    "anthropic-ratelimit-output-tokens-reset", "RateLimit-Policy", "RateLimit", "RateLimit-Limit",
    "RateLimit-Remaining", "RateLimit-Reset", "X-Error-Code", "Content-Type",
    # Cerebras, DigitalOcean, Fireworks, Anthropic's subscription windows, LiteLLM, Cloudflare.
    "x-ratelimit-limit-requests-day", "x-ratelimit-remaining-requests-day", "x-ratelimit-reset-requests-day",
    "x-ratelimit-limit-tokens-minute", "x-ratelimit-remaining-tokens-minute", "x-ratelimit-reset-tokens-minute",
    "x-ratelimit-limit-tokens-per-day", "x-ratelimit-remaining-tokens-per-day", "x-ratelimit-reset-tokens-per-day",
    "x-ratelimit-limit-tokens-prompt", "x-ratelimit-remaining-tokens-generated",
    "anthropic-ratelimit-unified-5h-utilization", "anthropic-ratelimit-unified-5h-reset",
    "anthropic-ratelimit-unified-5h-status", "anthropic-ratelimit-unified-7d-utilization",
    "anthropic-ratelimit-unified-7d-status", "x-litellm-key-spend", "x-litellm-key-max-budget",
    "x-litellm-response-cost", "cf-ray", "Server", "cf-mitigated",
]
header_values = st.one_of(
    st.text(max_size=40),
    st.builds(str, numbers),
    st.sampled_from(
        ["1s", "6m0s", "12ms", "1h2m3.5s", "-1s", "Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
         "2025-03-05T10:31:15Z", '"burst";q=100;w=60, "daily";q=1000;w=86400', '"default";r=50;t=30',
         '"x";r=-1;t=1e400', "1e400", "nan", "0", "1741170660000", "99999999999999999999", "text/html",
         "DAILY_REQUEST_LIMIT_EXCEEDED", "RATE_LIMIT_ERROR", "0.24", "1.5", "allowed", "allowed_warning",
         "rejected", "1767236400", "33011.38", "cloudflare", "challenge", "8f1a2b3c4d5e6f70-LAX"]
    ),
)
header_dicts = st.dictionaries(st.one_of(st.sampled_from(HEADER_NAMES), st.text(max_size=12)), header_values,
                               max_size=10)
statuses = st.one_of(st.sampled_from([400, 401, 402, 403, 404, 408, 418, 429, 500, 502, 503, 504]),
                     st.integers(300, 599))
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
hints = st.one_of(st.none(), st.just(KeyHint.of("sk-abc12345def67890wxyz")),
                  st.builds(KeyHint.of, st.text(min_size=0, max_size=30)))
contexts = st.builds(PollContext, now=moments, has_management_key=st.booleans(), key_hint=hints)
