"""Every documented usage field, end to end: the simulator's own payload
(what the provider says) against the engine's meters (what the user sees),
over real sockets, for each provider, while counters move."""

from __future__ import annotations

import pytest

from tests.reliability.helpers import wait_until
from traywidget.core.engine import Engine, EngineSettings
from traywidget.core.schedule import Cadence
from traywidget.core.secrets import MemorySecretStore
from traywidget.model import Account, State, Unit


async def poll(sim, provider: str, key: str, mgmt: str | None = None, fast: bool = False):
    """One full poll; with `fast`, the fast poll that follows it."""
    secrets = MemorySecretStore()
    secrets.set("a", key)
    if mgmt:
        secrets.set("a", mgmt, management=True)
    settings = EngineSettings(cadence=Cadence(fast_s=0.01, full_s=3600), watchdog_s=60)
    engine = Engine([Account(id="a", provider=provider, label="A", base_url=sim.url(provider))], secrets,
                    settings=settings)
    try:
        if not fast:
            (snap,) = await engine.poll_all()
            return snap
        snaps = []
        engine.subscribe(snaps.append)
        await engine.start()
        assert await wait_until(lambda: len(snaps) >= 2, 10)
        return snaps[1]
    finally:
        await engine.stop()


@pytest.mark.parametrize("plan", ["Free", "Lite", "Weekly", "Premium", "Max", "Ultra"])
async def test_routing_run_every_field_every_plan(sim, plan):
    s = sim.sim
    key = s.add_routing_key(plan)
    s.spend(key, 7)
    snap = await poll(sim, "routing.run", key)
    body = s.routing_usage(key)
    assert snap.plan == body["plan_tier"] == plan
    day, hour, minute = (snap.meter(n) for n in ("requests_day", "requests_hour", "requests_minute"))
    assert (day.used, day.limit, day.remaining) == (
        body["requests_used_today"], body["requests_limit_today"], body["requests_remaining"])
    assert (minute.used, minute.limit, minute.remaining) == (
        body["requests_used_this_minute"], body["requests_limit_per_minute"], body["requests_remaining_this_minute"])
    assert minute.approximate_reset
    if plan == "Lite":
        assert body["requests_limit_this_hour"] == 0 and body["requests_remaining_this_hour"] == 0
        assert hour.limit is None and hour.remaining is None and snap.state is not State.EXHAUSTED
    else:
        assert (hour.used, hour.limit, hour.remaining) == (
            body["requests_used_this_hour"], body["requests_limit_this_hour"], body["requests_remaining_this_hour"])
    assert day.resets_at.hour == 0 and day.resets_at.minute == 0
    assert hour.resets_at.minute == 0 and hour.resets_at.second == 0


async def test_routing_run_fast_endpoint_and_shared_user_counters(sim):
    s = sim.sim
    first = s.add_routing_key("Premium")
    second = s.add_routing_key(same_user_as=first)
    s.spend(first, 5)
    s.spend(second, 3)
    snap = await poll(sim, "routing.run", second, fast=True)
    hourly = s.routing_hourly(first)
    hour = snap.meter("requests_hour")
    assert (hour.used, hour.limit, hour.remaining) == (hourly["used"], hourly["limit"], hourly["remaining"]) == (8, 500, 492)
    assert [r.path for r in s.requests(key=second)][:2] == ["user/requests", "user/requests/hourly"]


@pytest.mark.parametrize("limit_reset", ["daily", "weekly", "monthly", None])
async def test_openrouter_key_fields(sim, limit_reset):
    s = sim.sim
    key = s.add_openrouter_key(limit=10.0, limit_reset=limit_reset, total_credits=30.0)
    s.spend(key, 3, model="openai/gpt-4o", cost=0.5)
    s.spend(key, 2, model="meta-llama/llama-3.3-70b-instruct:free")
    snap = await poll(sim, "openrouter", key)
    data = s.openrouter_key_info(key)["data"]
    credits = snap.meter("credits")
    assert credits.unit is Unit.USD
    assert credits.limit == data["limit"] == 10.0
    assert credits.remaining == pytest.approx(data["limit_remaining"]) == pytest.approx(8.5)
    if limit_reset is None:
        assert credits.resets_at is None
    else:
        assert credits.resets_at is not None
    free = snap.meter("free_requests_day")
    fmr = data["free_model_daily_requests"]
    assert (free.used, free.limit, free.remaining) == (fmr["used"], fmr["limit"], fmr["remaining"])
    assert not free.estimated
    assert any("Spent today $1.50" in note for note in snap.notes), snap.notes


async def test_openrouter_uncapped_key_estimated_free_cap_and_balance(sim):
    s = sim.sim
    key = s.add_openrouter_key(limit=None, total_credits=5.0, free_requests_field=False)
    mgmt = s.add_management_key(key)
    snap = await poll(sim, "openrouter", key, mgmt)
    credits = snap.meter("credits")
    assert credits.limit is None and credits.remaining is None
    free = snap.meter("free_requests_day")
    assert free.estimated and free.remaining is None
    assert free.limit == (50 if s.openrouter_key_info(key)["data"]["is_free_tier"] else 1000)
    balance = snap.meter("balance")
    total = s.openrouter_credits(mgmt)["data"]
    assert balance.remaining == pytest.approx(total["total_credits"] - total["total_usage"])
    assert snap.state is State.OK


async def test_openrouter_credits_without_management_key_is_a_note_not_an_error(sim):
    s = sim.sim
    key = s.add_openrouter_key()
    snap = await poll(sim, "openrouter", key, mgmt=key)  # a plain key in the management slot
    assert snap.state is State.OK
    assert snap.meter("balance") is None
    assert any("Only management keys" in note for note in snap.notes), snap.notes


@pytest.mark.parametrize("mask_prefix", [8, 6])
async def test_routeway_row_matched_by_masked_key(sim, mask_prefix):
    s = sim.sim
    decoy = s.add_routeway_key(daily_limit=999, mask_prefix=mask_prefix)
    key = s.add_routeway_key(daily_limit=200, minute_limit=5, same_account_as=decoy, mask_prefix=mask_prefix)
    mgmt = s.add_management_key(key)
    s.configure(mgmt, mgmt_limits=False)
    s.spend(key, 3, model="deepseek-r1:free")
    snap = await poll(sim, "routeway", key, mgmt)
    row = next(r for r in s.routeway_keys(mgmt)["data"] if r["daily_limit"] == 200)
    day, minute = snap.meter("requests_day"), snap.meter("requests_minute")
    assert (day.used, day.limit, day.remaining) == (row["usage_today"], 200, 197)
    assert (minute.used, minute.limit, minute.remaining) == (row["usage_minute"], 5, 2)
    assert snap.meter("balance").remaining == pytest.approx(s.routeway_balance(mgmt)["balance"])


async def test_routeway_without_management_key_says_what_cannot_be_known(sim):
    s = sim.sim
    key = s.add_routeway_key()
    snap = await poll(sim, "routeway", key)
    assert snap.meters == () and snap.state is State.OK
    assert any("management key" in note for note in snap.notes)
    assert s.count(key=key) == 0  # nothing to ask, so nothing was sent
