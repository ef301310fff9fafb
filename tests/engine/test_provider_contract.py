"""Every documented usage field, end to end: the simulator's own payload
(what the provider says) against the engine's meters (what the user sees),
over real sockets, for each provider, while counters move.

The simulator and the engine share one manual clock set to a known instant, so
every reset time is pinned to the instant the provider documents, written out
here, never recomputed by the adapter's own rule.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from traywidget.engine.engine import Engine, EngineSettings
from traywidget.engine.schedule import Cadence
from traywidget.model import Account, Snapshot, State, Unit
from traywidget.simulator import ManualClock, Simulator, SimulatorServer
from traywidget.store.secrets import MemorySecretStore

NOW = datetime(2026, 3, 5, 10, 37, 12, tzinfo=UTC)  # a Thursday
IN_A_MINUTE = datetime(2026, 3, 5, 10, 38, 12, tzinfo=UTC)  # a rolling minute: "about"
NEXT_HOUR = datetime(2026, 3, 5, 11, 0, tzinfo=UTC)
NEXT_UTC_MIDNIGHT = datetime(2026, 3, 6, tzinfo=UTC)
NEXT_MONDAY = datetime(2026, 3, 9, tzinfo=UTC)  # OpenRouter's weeks start on Monday
NEXT_MONTH = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture(scope="module")
def server(clock):
    with SimulatorServer(Simulator(clock)) as srv:
        yield srv


@pytest.fixture
def sim(server, clock):
    """This module's simulator (on the manual clock), at NOW with fresh counters."""
    clock.set(NOW)
    server.sim.reset()
    return server


def engine_for(sim, clock, provider: str, key: str, mgmt: str | None = None, **settings) -> Engine:
    secrets = MemorySecretStore()
    secrets.set("a", key)
    if mgmt:
        secrets.set("a", mgmt, management=True)
    account = Account(id="a", provider=provider, label="A", base_url=sim.url(provider))
    return Engine([account], secrets, now=clock, **settings)


async def poll(sim, clock, provider: str, key: str, mgmt: str | None = None) -> Snapshot:
    """One full poll, as `traywidget status` does it."""
    engine = engine_for(sim, clock, provider, key, mgmt)
    try:
        (snap,) = await engine.poll_all()
        return snap
    finally:
        await engine.stop()


def numbers(meter) -> tuple:
    return meter.used, meter.limit, meter.remaining


PLAN_LIMITS = {  # per day, per hour (None: no cap), per minute — PROVIDERS.md
    "Free": (50, 50, 100), "Lite": (500, None, 100), "Weekly": (1800, 500, 100),
    "Premium": (1500, 500, 100), "Max": (3000, 1000, 100), "Ultra": (10000, 1500, 100),
}


@pytest.mark.parametrize("plan", list(PLAN_LIMITS))
async def test_routing_run_every_field_every_plan(sim, clock, plan):
    s = sim.sim
    key = s.add_routing_key(plan)
    s.spend(key, 7)
    snap = await poll(sim, clock, "routing.run", key)
    body = s.routing_usage(key)
    per_day, per_hour, per_minute = PLAN_LIMITS[plan]
    assert snap.plan == body["plan_tier"] == plan
    assert snap.state is State.OK
    day, hour, minute = (snap.meter(n) for n in ("requests_day", "requests_hour", "requests_minute"))
    assert numbers(day) == (body["requests_used_today"], body["requests_limit_today"],
                            body["requests_remaining"]) == (7, per_day, per_day - 7)
    assert numbers(minute) == (body["requests_used_this_minute"], body["requests_limit_per_minute"],
                               body["requests_remaining_this_minute"]) == (7, per_minute, per_minute - 7)
    if per_hour is None:  # Lite: the API says 0 and 0, which means "no cap", never "exhausted"
        assert body["requests_limit_this_hour"] == 0 and body["requests_remaining_this_hour"] == 0
        assert numbers(hour) == (7, None, None)
    else:
        assert numbers(hour) == (body["requests_used_this_hour"], body["requests_limit_this_hour"],
                                 body["requests_remaining_this_hour"]) == (7, per_hour, per_hour - 7)
    assert (day.resets_at, hour.resets_at, minute.resets_at) == (NEXT_UTC_MIDNIGHT, NEXT_HOUR, IN_A_MINUTE)
    assert (day.approximate_reset, hour.approximate_reset, minute.approximate_reset) == (False, False, True)


async def test_routing_run_fast_poll_reads_the_hourly_endpoint_and_keeps_the_rest(sim, clock):
    """Between full polls the fast cadence asks only `user/requests/hourly`: the hour moves, the
    day stays as the last full poll saw it. Counters are per user: two keys, one set of numbers."""
    s = sim.sim
    first = s.add_routing_key("Premium")
    second = s.add_routing_key(same_user_as=first)
    s.spend(first, 5)
    s.spend(second, 3)
    fast_then_full = EngineSettings(cadence=Cadence(fast_s=0.01, full_s=3600))
    engine = engine_for(sim, clock, "routing.run", second, settings=fast_then_full)
    snaps: list[Snapshot] = []
    second_poll = asyncio.Event()

    def on_snapshot(snap: Snapshot) -> None:
        snaps.append(snap)
        if len(snaps) == 1:
            s.spend(first, 2)  # moves both the hour and the day, for both keys of the user
        else:
            second_poll.set()

    engine.subscribe(on_snapshot)
    await engine.start()
    try:
        await asyncio.wait_for(second_poll.wait(), timeout=30)
    finally:
        await engine.stop()
    full, fast = snaps[0], snaps[1]
    assert numbers(full.meter("requests_hour")) == (8, 500, 492)
    assert numbers(full.meter("requests_day")) == (8, 1500, 1492)
    hourly = s.routing_hourly(first)
    assert numbers(fast.meter("requests_hour")) == (hourly["used"], hourly["limit"], hourly["remaining"]) == (
        10, 500, 490)
    assert numbers(fast.meter("requests_day")) == (8, 1500, 1492)  # not asked: as the full poll saw it
    assert [r.path.rsplit("/v1/", 1)[-1] for r in s.requests(key=second)][:2] == [
        "user/requests", "user/requests/hourly"]


@pytest.mark.parametrize(("limit_reset", "resets_at"), [
    ("daily", NEXT_UTC_MIDNIGHT), ("weekly", NEXT_MONDAY), ("monthly", NEXT_MONTH), (None, None)])
async def test_openrouter_key_fields(sim, clock, limit_reset, resets_at):
    s = sim.sim
    key = s.add_openrouter_key(limit=10.0, limit_reset=limit_reset, total_credits=30.0)
    s.spend(key, 3, model="openai/gpt-4o", cost=0.5)
    s.spend(key, 2, model="meta-llama/llama-3.3-70b-instruct:free")
    snap = await poll(sim, clock, "openrouter", key)
    data = s.openrouter_key_info(key)["data"]
    credits = snap.meter("credits")
    assert credits.unit is Unit.USD
    assert credits.limit == data["limit"] == 10.0
    assert credits.remaining == pytest.approx(data["limit_remaining"]) == pytest.approx(8.5)
    assert credits.resets_at == resets_at
    free = snap.meter("free_requests_day")
    fmr = data["free_model_daily_requests"]
    assert numbers(free) == (fmr["used"], fmr["limit"], fmr["remaining"]) == (2, 1000, 998)
    assert free.resets_at == NEXT_UTC_MIDNIGHT
    assert not free.estimated
    assert "Spent today $1.50 · week $1.50 · month $1.50" in snap.notes


async def test_openrouter_uncapped_key_estimated_free_cap_and_balance(sim, clock):
    s = sim.sim
    key = s.add_openrouter_key(limit=None, total_credits=5.0, free_requests_field=False)
    mgmt = s.add_management_key(key)
    snap = await poll(sim, clock, "openrouter", key, mgmt)
    credits = snap.meter("credits")
    assert credits.limit is None and credits.remaining is None and credits.resets_at is None
    free = snap.meter("free_requests_day")
    assert s.openrouter_key_info(key)["data"]["is_free_tier"] is False  # it paid something
    assert free.estimated and free.remaining is None and free.limit == 1000  # so the documented paid cap, estimated
    assert free.resets_at == NEXT_UTC_MIDNIGHT
    balance = snap.meter("balance")
    total = s.openrouter_credits(mgmt)["data"]
    assert balance.remaining == pytest.approx(total["total_credits"] - total["total_usage"]) == pytest.approx(5.0)
    assert snap.state is State.OK


async def test_openrouter_default_account_balance_and_free_cap(sim, clock):
    """The simulator's default account: 20.0 of credits bought, so the 1000-a-day free cap."""
    s = sim.sim
    key = s.add_openrouter_key()
    snap = await poll(sim, clock, "openrouter", key, s.add_management_key(key))
    assert snap.meter("balance").remaining == 20.0
    assert numbers(snap.meter("free_requests_day")) == (0, 1000, 1000)


async def test_openrouter_credits_without_management_key_is_a_note_not_an_error(sim, clock):
    s = sim.sim
    key = s.add_openrouter_key()
    snap = await poll(sim, clock, "openrouter", key, mgmt=key)  # a plain key in the management slot
    assert snap.state is State.OK
    assert snap.meter("balance") is None
    assert any("Only management keys" in note for note in snap.notes), snap.notes


@pytest.mark.parametrize("mask_prefix", [8, 6])
async def test_routeway_row_matched_by_masked_key(sim, clock, mask_prefix):
    s = sim.sim
    decoy = s.add_routeway_key(daily_limit=999, mask_prefix=mask_prefix)
    key = s.add_routeway_key(daily_limit=200, minute_limit=5, same_account_as=decoy, mask_prefix=mask_prefix)
    mgmt = s.add_management_key(key)
    s.configure(mgmt, mgmt_limits=False)
    s.spend(key, 3, model="deepseek-r1:free")
    snap = await poll(sim, clock, "routeway", key, mgmt)
    row = next(r for r in s.routeway_keys(mgmt)["data"] if r["daily_limit"] == 200)
    day, minute = snap.meter("requests_day"), snap.meter("requests_minute")
    assert numbers(day) == (row["usage_today"], 200, 197) == (3, 200, 197)
    assert numbers(minute) == (row["usage_minute"], 5, 2) == (3, 5, 2)
    assert (day.resets_at, minute.resets_at) == (NEXT_UTC_MIDNIGHT, IN_A_MINUTE)
    assert snap.meter("balance").remaining == s.routeway_balance(mgmt)["balance"] == 4.2


async def test_routeway_without_management_key_says_what_cannot_be_known(sim, clock):
    s = sim.sim
    key = s.add_routeway_key()
    snap = await poll(sim, clock, "routeway", key)
    assert snap.meters == () and snap.state is State.OK
    assert snap.notes == (("Routeway has no usage endpoint for API keys: add a management key to see "
                           "requests left and balance."),)
    assert s.count(key=key) == 0  # nothing to ask, so nothing was sent
