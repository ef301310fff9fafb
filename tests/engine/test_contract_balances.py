"""LiteLLM, DeepSeek and Moonshot end to end: the simulator answers with the documented example
bodies (numbers as strings, zero and negative balances, a missing budget, a budget_exceeded
refusal), the engine polls them over real sockets, and the snapshot is pinned to exact values.
A Cloudflare 1010 page in front of any of them is "blocked", never "key rejected"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from traywidget.engine.engine import Engine
from traywidget.model import (
    BALANCE,
    BUDGET,
    Account,
    Snapshot,
    State,
    Unit,
)
from traywidget.simulator import ManualClock, Simulator, SimulatorServer
from traywidget.store.secrets import MemorySecretStore

NOW = datetime(2026, 3, 5, 10, 37, 12, tzinfo=UTC)
RESET = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture(scope="module")
def server(clock):
    with SimulatorServer(Simulator(clock)) as srv:
        yield srv


@pytest.fixture
def sim(server, clock):
    clock.set(NOW)
    server.sim.reset()
    return server


async def poll(server, clock, provider: str, key: str, base_url: str | None = None,
               user_agent: str | None = None) -> Snapshot:
    secrets = MemorySecretStore()
    secrets.set("a", key)
    account = Account(id="a", provider=provider, label="A", base_url=base_url or server.url(provider),
                      user_agent=user_agent)
    engine = Engine([account], secrets, now=clock)
    try:
        (snap,) = await engine.poll_all()
        return snap
    finally:
        await engine.stop()


def numbers(meter) -> tuple:
    return meter.unit, meter.used, meter.limit, meter.remaining, meter.resets_at


# -- LiteLLM --------------------------------------------------------------------------------


async def test_litellm_budget_windows_and_limits(sim, clock):
    key = sim.sim.balances.add_litellm_key(
        alias="ci-bot", spend=7.5, max_budget=25.0, budget_duration="30d", budget_reset_at=RESET,
        tpm_limit=100_000, rpm_limit=60,
        budget_limits=[{"budget_duration": "1h", "max_budget": 1.0,
                        "reset_at": "2026-03-05T11:00:00+00:00"}])
    sim.sim.balances.configure(key, window_spend={"1h": 0.25})
    snap = await poll(sim, clock, "litellm", key)
    assert snap.state is State.OK and snap.plan == "ci-bot"
    meters = {m.name: m for m in snap.meters}
    assert numbers(meters[BUDGET]) == (Unit.USD, 7.5, 25.0, 17.5, RESET)
    assert numbers(meters["budget_1h"]) == (Unit.USD, 0.25, 1.0, 0.75, datetime(2026, 3, 5, 11, tzinfo=UTC))
    assert set(meters) == {BUDGET, "budget_1h"}  # the per-minute caps are a note: how much is left comes in traffic
    assert "Key limits: 60 requests/min, 100000 tokens/min." in snap.notes
    assert snap.to_json()["meters"][0] == {"name": "budget", "unit": "usd", "used": 7.5, "limit": 25.0,
                                           "remaining": 17.5, "resets_at": "2026-04-01T00:00:00Z",
                                           "source": "poll", "seen_at": "2026-03-05T10:37:12Z",
                                           "freshness": "current"}  # read by this poll, at the clock's time


async def test_litellm_base_url_with_or_without_v1_reads_key_info_at_the_root(sim, clock):
    key = sim.sim.balances.add_litellm_key(spend=1.25)
    root = sim.url("litellm").removesuffix("/v1")
    for base in (root, root + "/v1", root + "/v1/"):
        snap = await poll(sim, clock, "litellm", key, base_url=base.rstrip("/") if base.endswith("/v1/") else base)
        assert numbers(snap.meter(BUDGET)) == (Unit.USD, 1.25, None, None, None)


async def test_litellm_without_a_budget_is_spend_only_no_cap(sim, clock):
    key = sim.sim.balances.add_litellm_key(spend=3.0, max_budget=None)
    snap = await poll(sim, clock, "litellm", key)
    assert snap.state is State.OK
    assert numbers(snap.meter(BUDGET)) == (Unit.USD, 3.0, None, None, None)
    assert "This key has no budget: spend is shown without a cap." in snap.notes


async def test_litellm_spent_budget_is_exhausted_not_rate_limited(sim, clock):
    key = sim.sim.balances.add_litellm_key(spend=26.075, max_budget=25.0, budget_duration="30d", budget_reset_at=RESET)
    snap = await poll(sim, clock, "litellm", key)
    assert snap.state is State.EXHAUSTED
    assert numbers(snap.meter(BUDGET)) == (Unit.USD, 26.075, 25.0, 0.0, RESET)


async def test_litellm_wrong_key(sim, clock):
    snap = await poll(sim, clock, "litellm", "sk-not-a-key-of-this-proxy")
    assert snap.state is State.AUTH_ERROR
    assert snap.error.message == "Authentication Error, Invalid proxy server token passed."


# -- DeepSeek -------------------------------------------------------------------------------


async def test_deepseek_documented_example(sim, clock):
    key = sim.sim.balances.add_deepseek_account()  # the documented example: CNY 110.00 = 100.00 + 10.00
    snap = await poll(sim, clock, "deepseek", key)
    assert snap.state is State.OK
    assert [numbers(m) for m in snap.meters] == [(Unit.CNY, None, None, 110.0, None)]
    assert snap.to_json()["meters"][0]["unit"] == "cny"
    assert "Balance: topped up CN¥100.00 · granted CN¥10.00" in snap.notes
    assert ("DeepSeek reports no rate limits (it slows down instead of refusing): only the balance is shown."
            in snap.notes)


async def test_deepseek_two_currencies_are_two_meters(sim, clock):
    key = sim.sim.balances.add_deepseek_account(balances=[("CNY", "0.00", "0.00", "0.00"),
                                                          ("USD", "4.20", "0.00", "4.20")])
    snap = await poll(sim, clock, "deepseek", key)
    assert snap.state is State.OK  # the dollars still pay
    assert {m.name: (m.unit, m.remaining) for m in snap.meters} == {
        "balance_cny": (Unit.CNY, 0.0), "balance_usd": (Unit.USD, 4.2)}


@pytest.mark.parametrize("balances, available", [
    ([("CNY", "0.00", "0.00", "0.00")], True),          # zero
    ([("USD", "-1.50", "0.00", "-1.50")], True),       # owed
    ([("CNY", "110.00", "10.00", "100.00")], False),   # the account says it cannot pay
])
async def test_deepseek_payment_required(sim, clock, balances, available):
    key = sim.sim.balances.add_deepseek_account(balances=balances, is_available=available)
    snap = await poll(sim, clock, "deepseek", key)
    assert snap.state is State.PAYMENT_REQUIRED
    assert snap.meter(BALANCE).remaining == float(balances[0][1])
    assert snap.error.code == ("NO_BALANCE" if available else "NOT_AVAILABLE")


# -- Moonshot -------------------------------------------------------------------------------


async def test_moonshot_documented_example_in_dollars_on_loopback(sim, clock):
    key = sim.sim.balances.add_moonshot_account()
    snap = await poll(sim, clock, "moonshot", key)
    assert snap.state is State.OK
    assert [numbers(m) for m in snap.meters] == [(Unit.USD, None, None, 49.58894, None)]
    assert "Balance: cash $3.00 · vouchers $46.59" in snap.notes


@pytest.mark.parametrize("available", [0.0, -0.5])
async def test_moonshot_at_or_below_zero_is_payment_required(sim, clock, available):
    key = sim.sim.balances.add_moonshot_account(available_balance=available, voucher_balance=0.0,
                                                cash_balance=available)
    snap = await poll(sim, clock, "moonshot", key)
    assert snap.state is State.PAYMENT_REQUIRED
    assert snap.meter(BALANCE).remaining == available


# -- a firewall in front ---------------------------------------------------------------------


@pytest.mark.parametrize("provider, add", [
    ("litellm", "add_litellm_key"), ("deepseek", "add_deepseek_account"), ("moonshot", "add_moonshot_account")])
async def test_a_cloudflare_1010_page_is_blocked_not_key_rejected(sim, clock, provider, add):
    key = getattr(sim.sim.balances, add)()
    sim.sim.configure(key, firewall="1010")
    snap = await poll(sim, clock, provider, key)
    assert snap.state is State.BLOCKED
    assert snap.error.code == "cloudflare_1010" and snap.error.http_status == 403
    assert snap.error.message == (
        "Blocked by the provider's firewall (Cloudflare 1010): it rejected this client, not the key. "
        "Try another User-Agent for this account, another network, or ask the provider.")
    assert snap.to_json()["state"] == "blocked"


async def test_a_challenge_page_is_blocked(sim, clock):
    key = sim.sim.balances.add_moonshot_account()
    sim.sim.configure(key, firewall="challenge")
    snap = await poll(sim, clock, "moonshot", key)
    assert (snap.state, snap.error.code) == (State.BLOCKED, "cloudflare_challenge")


async def test_polls_send_the_accounts_user_agent_or_traywidgets_own(sim, clock):
    from traywidget.engine.http_client import USER_AGENT

    key = sim.sim.balances.add_moonshot_account()
    await poll(sim, clock, "moonshot", key)
    await poll(sim, clock, "moonshot", key, user_agent="Mozilla/5.0 (X11; Linux x86_64) quota-check")
    sent = [r.headers.get("user-agent") for r in sim.sim.requests("moonshot", key=key)]
    assert sent == [USER_AGENT, "Mozilla/5.0 (X11; Linux x86_64) quota-check"]
    assert clock() - NOW < timedelta(seconds=1)


async def test_a_budget_exceeded_seen_in_traffic_leaves_the_account_exhausted(sim, clock):
    """What the gateway hands the engine for LiteLLM's budget_exceeded 429 (the real adapter reading
    the real body) makes the account "exhausted" with the budget at 0, after a poll said low."""
    import json as _json

    from traywidget.model import HttpResult
    from traywidget.providers import get_provider
    from traywidget.providers.from_traffic import response_observation

    key = sim.sim.balances.add_litellm_key(spend=24.9, max_budget=25.0, budget_duration="30d", budget_reset_at=RESET)
    secrets = MemorySecretStore()
    secrets.set("a", key)
    engine = Engine([Account(id="a", provider="litellm", label="A", base_url=sim.url("litellm"))], secrets, now=clock)
    try:
        (before,) = await engine.poll_all()
        assert before.state is State.LOW  # $0.10 of $25 left
        body = _json.dumps({"error": {"message": "Budget has been exceeded! Current cost: 25.01, Max budget: 25.0",
                                      "type": "budget_exceeded", "param": None, "code": "429"}}).encode()
        observation = response_observation(get_provider("litellm"), "a", HttpResult(429, {}, body), clock())
        engine.observe(observation)
        after = engine.snapshots["a"]
        assert after.state is State.EXHAUSTED
        assert numbers(after.meter(BUDGET))[1:] == (25.01, 25.0, 0.0, RESET)  # used up until the reset
    finally:
        await engine.stop()


async def test_a_browser_only_firewall_in_front_of_routeway_passes_the_accounts_own_user_agent(sim, clock):
    """Routeway, reported to refuse non-browser User-Agents with 1010: traywidget's own is blocked (said
    so, not "key rejected"); the account's configured User-Agent gets through to real numbers."""
    api_key = sim.sim.add_routeway_key(daily_limit=200, minute_limit=5)
    management = sim.sim.add_management_key(api_key)
    sim.sim.configure(management, firewall="browser-only")
    secrets = MemorySecretStore()
    secrets.set("rw", api_key)
    secrets.set("rw", management, management=True)
    for agent, state in ((None, State.BLOCKED), ("Mozilla/5.0 (X11; Linux x86_64) traywidget", State.OK)):
        account = Account(id="rw", provider="routeway", label="RW", base_url=sim.url("routeway"), user_agent=agent)
        engine = Engine([account], secrets, now=clock)
        try:
            (snap,) = await engine.poll_all()
        finally:
            await engine.stop()
        assert snap.state is state
    assert snap.meter("requests_day").remaining == 200
    sim.sim.configure(management, firewall=None)
