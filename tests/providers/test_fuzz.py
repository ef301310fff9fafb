"""Property tests: no body, byte string or header set makes an adapter raise
anything but ProviderError, or produce an impossible meter."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import (
    FIELD_NAMES,
    bodies,
    contexts,
    encode,
    examples,
    header_dicts,
    header_values,
    json_values,
    moments,
    statuses,
)
from traywidget.model import HttpResult, ProviderError, State
from traywidget.providers import PROVIDER_IDS, get_provider
from traywidget.providers.base import Reading, RequestSpec
from traywidget.providers.firewall import firewall_name
from traywidget.providers.headers import (
    RateLimitInfo,
    parse_rate_limit_headers,
    parse_reset,
    parse_retry_after,
)

from .helpers import assert_sane_meter

FUZZ = settings(max_examples=examples(0.6))

SPECS = {
    "routing.run": [RequestSpec("requests", "user/requests"), RequestSpec("hourly", "user/requests/hourly")],
    "openrouter": [RequestSpec("key", "key"), RequestSpec("credits", "credits")],
    "routeway": [RequestSpec("account_keys", "account/keys"), RequestSpec("balance", "account/balance")],
    "litellm": [RequestSpec("key_info", "key/info", from_root=True)],
    "deepseek": [RequestSpec("user_balance", "user/balance", from_root=True)],
    "moonshot": [RequestSpec("users_me_balance", "users/me/balance")],
    "openai-compatible": [RequestSpec("traffic", "chat/completions")],
}
# What a 429 may mean besides a rate limit: OpenAI's insufficient_quota and a balance word (billing),
# LiteLLM's budget_exceeded (the budget used up).
STATES_OF_429 = {"openai-compatible": {State.RATE_LIMITED, State.PAYMENT_REQUIRED},
                 "deepseek": {State.RATE_LIMITED, State.PAYMENT_REQUIRED},
                 "moonshot": {State.RATE_LIMITED, State.PAYMENT_REQUIRED},
                 "litellm": {State.RATE_LIMITED, State.EXHAUSTED}}
provider_specs = st.sampled_from([(pid, s) for pid in PROVIDER_IDS for s in SPECS[pid]])


def check_reading(reading: Reading, now: datetime) -> None:
    assert isinstance(reading, Reading)
    for meter in reading.meters:
        assert_sane_meter(meter)
    assert reading.plan is None or (isinstance(reading.plan, str) and len(reading.plan) <= 200)
    for note in reading.notes:
        assert isinstance(note, str)
    if reading.rate_limited is not None:
        retry = reading.rate_limited.retry_after_s
        assert retry is None or (math.isfinite(retry) and retry >= 0)


def check_error(err: ProviderError) -> None:
    assert isinstance(err, ProviderError)
    assert isinstance(err.state, State)
    assert isinstance(err.info.message, str) and 0 < len(err.info.message) <= 300
    assert "\n" not in err.info.message
    retry = err.info.retry_after_s
    assert retry is None or (math.isfinite(retry) and retry >= 0)


# -- properties ----------------------------------------------------------------------------


@pytest.mark.slow
@FUZZ
@given(provider_specs, bodies, header_dicts, contexts)
def test_parse_never_raises_anything_else(pair, body, headers, ctx):
    provider_id, spec = pair
    provider = get_provider(provider_id)
    try:
        reading = provider.parse(spec, HttpResult(200, headers, body), ctx)
    except ProviderError as err:
        check_error(err)
    else:
        check_reading(reading, ctx.now)


@pytest.mark.slow
@FUZZ
@given(provider_specs, statuses, bodies, header_dicts, contexts)
def test_error_for_always_returns_a_provider_error(pair, status, body, headers, ctx):
    provider_id, spec = pair
    err = get_provider(provider_id).error_for(spec, HttpResult(status, headers, body), ctx)
    check_error(err)
    assert err.info.http_status == status
    if status == 429:
        # OpenAI answers an exhausted prepaid quota with 429 insufficient_quota: a billing problem.
        assert err.state in STATES_OF_429.get(provider_id, {State.RATE_LIMITED})
    if 500 <= status <= 599 and provider_id != "routeway":
        assert err.state is State.ERROR


@pytest.mark.slow
@FUZZ
@given(bodies)
def test_parse_kill_never_raises_anything_else(body):
    provider = get_provider("routing.run")
    try:
        killed = provider.parse_kill(HttpResult(200, {}, body))
    except ProviderError as err:
        check_error(err)
    else:
        assert isinstance(killed, int) and killed >= 0


@FUZZ
@given(header_dicts, moments)
def test_header_parser_never_raises(headers, now):
    info = parse_rate_limit_headers(headers, now)
    assert isinstance(info, RateLimitInfo)
    assert info.retry_after_s is None or (math.isfinite(info.retry_after_s) and info.retry_after_s >= 0)
    for window in info.windows:
        for value in (window.limit, window.remaining):
            assert value is None or (math.isfinite(value) and value >= 0)
        if window.resets_at is not None:
            assert now <= window.resets_at <= now + timedelta(days=401)


@FUZZ
@given(header_values, moments)
def test_scalar_parsers_never_raise(value, now):
    retry = parse_retry_after(value, now)
    assert retry is None or retry >= 0
    reset = parse_reset(value, now)
    assert reset is None or reset >= now


@pytest.mark.slow
@FUZZ
@given(st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=12), contexts)
def test_routeway_rows_never_raise(row, ctx):
    body = encode({"data": [row, dict(row, key="sk-abc...wxyz")]})
    try:
        reading = get_provider("routeway").parse(RequestSpec("account_keys", "account/keys"), HttpResult(200, {}, body),
                                                 ctx)
    except ProviderError as err:
        check_error(err)
    else:
        check_reading(reading, ctx.now)


@FUZZ
@given(provider_specs, statuses, bodies, header_dicts, contexts)
def test_refusal_reads_any_firewall_page_without_raising(pair, status, body, headers, ctx):
    """The firewall check in front of every adapter's error_for: a ProviderError whatever arrives,
    and BLOCKED only for a non-JSON 403/503 from Cloudflare."""
    provider_id, spec = pair
    result = HttpResult(status, headers, body)
    err = get_provider(provider_id).refusal(spec, result, ctx)
    check_error(err)
    if err.state is State.BLOCKED:
        assert status in (403, 503)
        assert firewall_name(result) == "Cloudflare"


@FUZZ
@given(statuses, bodies, header_dicts, contexts)
def test_litellm_traffic_money_never_raises(status, body, headers, ctx):
    for meter in get_provider("litellm").traffic_money_meters(HttpResult(status, headers, body), ctx):
        assert_sane_meter(meter)
