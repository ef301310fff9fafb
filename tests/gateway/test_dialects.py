"""The gateway learns every traffic dialect live: a request through the real gateway to a simulator
route answering in that provider's headers (or refusal) becomes exact meters and states. LiteLLM's
spend headers and budget_exceeded refusal, Cloudflare's 1010 page, and the user's own User-Agent
passing through unchanged."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from tests.gateway.conftest import eventually
from traywidget.model import (
    BUDGET,
    INPUT_TOKENS_WINDOW,
    OUTPUT_TOKENS_WINDOW,
    REQUESTS_DAY,
    REQUESTS_WINDOW,
    TOKENS_DAY,
    TOKENS_MINUTE,
    TOKENS_WINDOW,
    USAGE_5H,
    USAGE_7D,
    Account,
    HttpResult,
    Source,
    State,
    Unit,
)
from traywidget.providers import get_provider
from traywidget.providers.from_traffic import response_observation

CHAT = "/chat/completions"
ASK = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


async def through_gateway(start_gateway, sim, client, dialect: str):
    key = sim.sim.balances.add_dialect_key(dialect)
    running = await start_gateway([Account("d", "openai-compatible", "D", sim.url("dialects"))], {"d": key})
    reply = await client.post(running.url("d", CHAT), headers=running.auth, json=ASK)
    (obs,) = running.observations
    return reply, obs


def by_name(obs) -> dict:
    return {m.name: (m.unit, m.limit, m.remaining) for m in obs.meters}


async def test_cerebras_windows_named_by_their_suffix(start_gateway, sim, client):
    reply, obs = await through_gateway(start_gateway, sim, client, "cerebras")
    assert reply.status_code == 200 and obs.state is None
    assert by_name(obs) == {REQUESTS_DAY: (Unit.REQUESTS, 14400, 14399), TOKENS_MINUTE: (Unit.TOKENS, 60000, 59983)}
    day = next(m for m in obs.meters if m.name == REQUESTS_DAY)
    assert day.resets_at == obs.seen_at + timedelta(seconds=33011.382867097855)
    assert all(m.source is Source.TRAFFIC for m in obs.meters)


async def test_digitalocean_tokens_per_day_and_minute_with_epoch_resets(start_gateway, sim, client):
    _, obs = await through_gateway(start_gateway, sim, client, "digitalocean")
    assert by_name(obs) == {REQUESTS_WINDOW: (Unit.REQUESTS, 5000, 4999), TOKENS_DAY: (Unit.TOKENS, 1_000_000, 999_983),
                            TOKENS_MINUTE: (Unit.TOKENS, 200_000, 199_983)}
    day = next(m for m in obs.meters if m.name == TOKENS_DAY)
    assert abs((day.resets_at - obs.seen_at).total_seconds() - 3600) <= 1  # epoch seconds, whole


async def test_fireworks_prompt_and_generated_tokens(start_gateway, sim, client):
    _, obs = await through_gateway(start_gateway, sim, client, "fireworks")
    assert by_name(obs) == {INPUT_TOKENS_WINDOW: (Unit.TOKENS, 3_600_000, 3_599_988),
                            OUTPUT_TOKENS_WINDOW: (Unit.TOKENS, 36_000, 35_995)}


async def test_anthropic_unified_5h_and_7d_in_percent(start_gateway, sim, client):
    _, obs = await through_gateway(start_gateway, sim, client, "anthropic-unified")
    assert by_name(obs) == {USAGE_5H: (Unit.PERCENT, 100, 76), USAGE_7D: (Unit.PERCENT, 100, 9)}


async def test_groq_headers_over_loopback_are_unnamed_windows(start_gateway, sim, client):
    # The simulator is not api.groq.com: the day/minute naming is Groq's host's alone (next test).
    _, obs = await through_gateway(start_gateway, sim, client, "groq")
    assert by_name(obs) == {REQUESTS_WINDOW: (Unit.REQUESTS, 14400, 14370), TOKENS_WINDOW: (Unit.TOKENS, 18000, 17997)}


def test_groq_by_host_requests_are_per_day_tokens_per_minute():
    from datetime import datetime

    now = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
    headers = {"x-ratelimit-limit-requests": "14400", "x-ratelimit-remaining-requests": "14370",
               "x-ratelimit-reset-requests": "2m59.56s", "x-ratelimit-limit-tokens": "18000",
               "x-ratelimit-remaining-tokens": "17997", "x-ratelimit-reset-tokens": "7.66s"}
    obs = response_observation(get_provider("openai-compatible"), "g", HttpResult(200, headers, b""), now,
                               "https://api.groq.com/openai/v1")
    assert {m.name: (m.limit, m.remaining, m.resets_at) for m in obs.meters} == {
        REQUESTS_DAY: (14400, 14370, now + timedelta(seconds=179.56)),
        TOKENS_MINUTE: (18000, 17997, now + timedelta(seconds=7.66))}


@pytest.mark.parametrize("dialect, kind, code", [
    ("gemini-day", "daily", "GenerateRequestsPerDayPerProjectPerModel-FreeTier"),
    ("gemini-minute", "minute", "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"),
])
async def test_gemini_array_wrapped_429(start_gateway, sim, client, dialect, kind, code):
    reply, obs = await through_gateway(start_gateway, sim, client, dialect)
    assert reply.status_code == 429
    assert (obs.state, obs.error.limit_kind, obs.error.code) == (State.RATE_LIMITED, kind, code)
    assert obs.error.message == "You exceeded your current quota, please check your plan and billing details."
    if kind == "minute":
        assert obs.error.retry_after_s == 36.429760048
    else:  # until midnight Pacific
        assert obs.error.retry_after_s > 36.43


async def test_cloudflare_1010_in_front_of_traffic_is_blocked(start_gateway, sim, client):
    reply, obs = await through_gateway(start_gateway, sim, client, "cloudflare")
    assert (reply.status_code, reply.text) == (403, "error code: 1010")
    assert (obs.state, obs.error.code) == (State.BLOCKED, "cloudflare_1010")


@pytest.mark.parametrize("status", [429, 400])  # by LiteLLM version
async def test_litellm_spend_headers_then_budget_exceeded(start_gateway, sim, client, status):
    key = sim.sim.balances.add_litellm_key(spend=0.996, max_budget=1.0, cost=0.004, budget_status=status)
    running = await start_gateway([Account("l", "litellm", "L", sim.url("litellm"))], {"l": key})
    ok = await client.post(running.url("l", CHAT), headers=running.auth, json=ASK)
    assert ok.status_code == 200 and ok.headers["x-litellm-key-spend"] == "1.000000"
    refused = await client.post(running.url("l", CHAT), headers=running.auth, json=ASK)
    assert refused.status_code == status
    first, second = running.observations
    assert [(m.name, m.unit, m.used, m.limit, m.remaining) for m in first.meters] == [(BUDGET, Unit.USD, 1.0, 1.0, 0.0)]
    assert first.state is None
    assert second.state is State.EXHAUSTED  # used up, not a rate limit
    assert (second.error.code, second.error.limit_kind) == ("budget_exceeded", "budget")
    assert [(m.name, m.used, m.limit, m.remaining) for m in second.meters] == [(BUDGET, 1.0, 1.0, 0.0)]


async def test_the_users_own_user_agent_passes_through_unchanged(on_sim, sim, client):
    agent = "OpenAI/Python 1.99.0"
    reply = await client.post(on_sim.url("oc", CHAT), headers={**on_sim.auth, "User-Agent": agent}, json=ASK)
    assert reply.status_code == 200
    (record,) = sim.sim.requests("openai-compatible", key=on_sim.keys["oc"], path="chat/completions")
    assert record.headers["user-agent"] == agent


@pytest.mark.parametrize("dialect, state, meters", [
    # 9% of the week left is below the 20% threshold: low.
    ("anthropic-unified", State.LOW, {"usage_5h": ("percent", 100, 76), "usage_7d": ("percent", 100, 9)}),
    ("gemini-day", State.RATE_LIMITED, {}),
    ("cloudflare", State.BLOCKED, {}),
])
async def test_the_engine_shows_what_the_gateway_learned(sim, client, dialect, state, meters):
    """The real gateway hands the real engine what it saw: the account's snapshot (status --json's
    shape) carries the dialect's meters and state."""
    from traywidget.engine.engine import Engine
    from traywidget.gateway.server import Gateway
    from traywidget.store.secrets import MemorySecretStore

    key = sim.sim.balances.add_dialect_key(dialect)
    store = MemorySecretStore()
    store.set("d", key)
    accounts = [Account("d", "openai-compatible", "D", sim.url("dialects"))]
    engine = Engine(accounts, store)
    gateway = Gateway(accounts, store, observe=engine.observe, on_streams=lambda *_: None)
    await gateway.start(0)
    try:
        reply = await client.post(gateway.url_for("d") + CHAT, json=ASK,
                                  headers={"Authorization": f"Bearer {gateway.token}"})
        assert reply.status_code in (200, 403, 429)
        snapshot = await eventually(lambda: engine.snapshots.get("d"), what="the engine's snapshot")
        data = snapshot.to_json()
    finally:
        await gateway.stop()
        await engine.stop()
    assert data["state"] == state.value
    assert {m["name"]: (m["unit"], m["limit"], m["remaining"]) for m in data["meters"]} == meters
    if dialect == "gemini-day":
        assert (data["error"]["limit_kind"], data["error"]["code"]) == (
            "daily", "GenerateRequestsPerDayPerProjectPerModel-FreeTier")
