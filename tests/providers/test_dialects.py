"""The header dialects beyond OpenAI's and Anthropic's classic ones, each pinned to its documented
example and checked as a property: whatever valid numbers a provider sends arrive exactly; nothing
a provider could send makes the parser raise (the general fuzz is in test_fuzz.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import examples, header_values
from traywidget.model import HttpResult, State
from traywidget.providers import get_provider
from traywidget.providers.base import PollContext, RequestSpec
from traywidget.providers.firewall import firewall_block
from traywidget.providers.headers import parse_rate_limit_headers

from .helpers import NOW

PROPERTY = settings(max_examples=examples(0.5))
counts = st.integers(0, 10**9)
seconds = st.floats(0, 86400, allow_nan=False)


def windows(headers: dict[str, str], now: datetime = NOW) -> dict:
    return {w.name: (w.limit, w.remaining, w.resets_at) for w in parse_rate_limit_headers(headers, now).windows}


def test_cerebras_documented_example():
    assert windows({
        "x-ratelimit-limit-requests-day": "14400", "x-ratelimit-remaining-requests-day": "14399",
        "x-ratelimit-reset-requests-day": "33011.382867097855",
        "x-ratelimit-limit-tokens-minute": "60000", "x-ratelimit-remaining-tokens-minute": "59948",
        "x-ratelimit-reset-tokens-minute": "11.382867097854614",
    }) == {"requests-day": (14400, 14399, NOW + timedelta(seconds=33011.382867097855)),
           "tokens-minute": (60000, 59948, NOW + timedelta(seconds=11.382867097854614))}


@PROPERTY
@given(st.sampled_from(["requests", "tokens"]), st.sampled_from(["minute", "hour", "day"]), counts, counts, seconds)
def test_cerebras_any_window_arrives_exactly(kind, period, limit, remaining, reset):
    got = windows({f"x-ratelimit-limit-{kind}-{period}": str(limit),
                   f"x-ratelimit-remaining-{kind}-{period}": str(remaining),
                   f"x-ratelimit-reset-{kind}-{period}": repr(reset)})
    assert got == {f"{kind}-{period}": (limit, remaining, NOW + timedelta(seconds=reset))}


@PROPERTY
@given(st.sampled_from(["day", "minute"]), counts, counts, st.integers(0, 399 * 86400))
def test_digitalocean_tokens_per_window_with_epoch_resets(period, limit, remaining, ahead):
    epoch = int(NOW.timestamp()) + ahead
    got = windows({f"x-ratelimit-limit-tokens-per-{period}": str(limit),
                   f"x-ratelimit-remaining-tokens-per-{period}": str(remaining),
                   f"x-ratelimit-reset-tokens-per-{period}": str(epoch)})
    assert got == {f"tokens-{period}": (limit, remaining, datetime.fromtimestamp(epoch, UTC))}


@PROPERTY
@given(st.sampled_from(["prompt", "generated"]), counts, counts)
def test_fireworks_prompt_and_generated(kind, limit, remaining):
    got = windows({f"X-Ratelimit-Limit-Tokens-{kind.title()}": str(limit),
                   f"X-Ratelimit-Remaining-Tokens-{kind.title()}": str(remaining)})
    assert got == {f"tokens-{kind}": (limit, remaining, None)}


@PROPERTY
@given(st.sampled_from(["5h", "7d"]), st.floats(0, 1, allow_nan=False), st.integers(1, 30 * 86400),
       st.sampled_from(["allowed", "allowed_warning"]))
def test_anthropic_unified_share_used_becomes_percent_left(period, used, ahead, status):
    epoch = int(NOW.timestamp()) + ahead
    got = windows({f"anthropic-ratelimit-unified-{period}-utilization": repr(used),
                   f"anthropic-ratelimit-unified-{period}-reset": str(epoch),
                   f"anthropic-ratelimit-unified-{period}-status": status})
    limit, remaining, resets_at = got[f"unified-{period}"]
    assert limit == 100 and remaining == pytest.approx(100 * (1 - used)) and 0 <= remaining <= 100
    assert resets_at == datetime.fromtimestamp(epoch, UTC)


def test_anthropic_unified_rejected_is_nothing_left():
    assert windows({"anthropic-ratelimit-unified-7d-status": "rejected",
                    "anthropic-ratelimit-unified-7d-utilization": "1.02"})["unified-7d"] == (100, 0, None)


@PROPERTY
@given(st.dictionaries(st.sampled_from([
    "anthropic-ratelimit-unified-5h-utilization", "anthropic-ratelimit-unified-5h-status",
    "anthropic-ratelimit-unified-5h-reset", "x-ratelimit-reset-tokens-per-day", "x-ratelimit-limit-tokens-prompt",
    "x-ratelimit-remaining-requests-hour", "x-ratelimit-reset-requests-minute", "x-litellm-key-spend",
    "x-litellm-key-max-budget", "cf-ray", "server", "cf-mitigated"]), header_values, max_size=8))
def test_new_dialects_never_raise_and_stay_sane(headers):
    for window in parse_rate_limit_headers(headers, NOW).windows:
        for value in (window.limit, window.remaining):
            assert value is None or value >= 0
        if window.name.startswith("unified-") and window.remaining is not None:
            assert window.limit == 100 and 0 <= window.remaining <= 100
    for meter in get_provider("litellm").traffic_money_meters(HttpResult(200, headers, b""), PollContext(now=NOW)):
        assert meter.used is not None and meter.used >= 0


# -- a firewall's page, told from the provider's answer -------------------------------------------

CF = {"server": "cloudflare", "cf-ray": "8f1a2b3c4d5e6f70-FRA"}
SPEC = RequestSpec("x", "x")


@pytest.mark.parametrize("status, headers, body, code", [
    (403, {**CF, "content-type": "text/plain"}, b"error code: 1010", "cloudflare_1010"),
    (403, {**CF, "content-type": "text/html"},
     (b"<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head><body>"
      b"<span class=\"cf-error-code\">1020</span></body></html>"), "cloudflare_1020"),
    (503, {**CF, "cf-mitigated": "challenge", "content-type": "text/html"},
     b"<!DOCTYPE html><html><head><title>Just a moment...</title></head></html>", "cloudflare_challenge"),
    (403, {**CF, "content-type": "text/html"},
     b"<html><head><title>Attention Required! | Cloudflare</title></head>"
     b"<body>Sorry, you have been blocked</body></html>",
     "FIREWALL_BLOCKED"),
])
@pytest.mark.parametrize("provider_id", ["routing.run", "openrouter", "routeway", "litellm", "deepseek", "moonshot",
                                         "openai-compatible"])
def test_a_cloudflare_block_is_blocked_for_every_provider(provider_id, status, headers, body, code):
    error = get_provider(provider_id).refusal(SPEC, HttpResult(status, headers, body), PollContext(now=NOW))
    assert (error.state, error.info.code, error.info.http_status) == (State.BLOCKED, code, status)


@pytest.mark.parametrize("status, headers, body", [
    # The provider's own JSON answer, passed through Cloudflare: it is about the key.
    (403, {**CF, "content-type": "application/json"}, b'{"message":"Access denied"}'),
    (401, {**CF, "content-type": "text/plain"}, b"error code: 1010"),  # not a status a WAF blocks with
    (403, {"content-type": "text/plain"}, b"error code: 1010"),  # not from Cloudflare
    (403, {**CF, "content-type": "text/plain"}, b"Forbidden"),
])
def test_the_providers_own_refusal_is_not_a_block(status, headers, body):
    assert firewall_block(HttpResult(status, headers, body)) is None
    error = get_provider("routing.run").refusal(SPEC, HttpResult(status, headers, body), PollContext(now=NOW))
    assert error.state is State.AUTH_ERROR
