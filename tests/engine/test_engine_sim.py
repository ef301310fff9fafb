"""The engine against the simulator over real sockets: concurrency, isolation,
fast and full polls, Retry-After honoured to the request (from a poll or from
the user's traffic), recovery after faults. Requests are counted at the
simulator; every wait is for a condition."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import timedelta

import pytest

from tests.reliability.helpers import wait_until
from traywidget.engine.engine import Engine, EngineSettings
from traywidget.engine.schedule import Cadence
from traywidget.model import Account, ErrorInfo, State, TrafficObservation, utcnow
from traywidget.store.secrets import MemorySecretStore


def engine_for(sim, specs, **settings) -> tuple[Engine, dict[str, str]]:
    """specs: {account_id: (provider, api_key, management_key|None)}"""
    secrets = MemorySecretStore()
    accounts = []
    for account_id, (provider, key, mgmt) in specs.items():
        accounts.append(Account(id=account_id, provider=provider, label=account_id, base_url=sim.url(provider)))
        secrets.set(account_id, key)
        if mgmt:
            secrets.set(account_id, mgmt, management=True)
    return Engine(accounts, secrets, settings=EngineSettings(**settings)), {k: v[1] for k, v in specs.items()}


async def test_one_concurrent_poll_of_every_provider(sim):
    s = sim.sim
    or_key = s.add_openrouter_key(limit=5.0, limit_reset="weekly", free_requests_field=False)
    rw_key = s.add_routeway_key()
    engine, _ = engine_for(sim, {
        "rr": ("routing.run", s.add_routing_key("Lite"), None),
        "or": ("openrouter", or_key, s.add_management_key(or_key)),
        "rw": ("routeway", rw_key, s.add_management_key(rw_key)),
    })
    snaps = {snap.account_id: snap for snap in await engine.poll_all()}
    await engine.stop()
    assert snaps["rr"].plan == "Lite" and snaps["rr"].meter("requests_hour").limit is None
    assert snaps["rr"].state is State.OK
    free = snaps["or"].meter("free_requests_day")
    assert free.estimated and free.limit == 1000 and free.remaining is None  # the simulator's account paid 20.0
    assert snaps["or"].meter("balance").remaining == 20.0
    assert snaps["rw"].meter("requests_day").limit == 200


@pytest.mark.slow
async def test_a_hanging_account_never_delays_the_others(sim):
    s = sim.sim
    keys = {f"ok{i}": ("routing.run", s.add_routing_key("Premium"), None) for i in range(3)}
    keys["dead"] = ("routing.run", s.add_routing_key("Premium"), None)
    s.inject(keys["dead"][1], "hang")
    engine, _ = engine_for(sim, keys, timeout_s=3.0)
    order: list[str] = []
    engine.subscribe(lambda snap: order.append(snap.account_id))
    await engine.start()
    try:
        assert await wait_until(lambda: "dead" in order, 15)
    finally:
        await engine.stop()
    assert order[-1] == "dead", order
    assert sorted(order[:3]) == ["ok0", "ok1", "ok2"]
    assert engine.snapshots["dead"].state is State.ERROR
    assert engine.snapshots["dead"].error.message == "127.0.0.1 did not answer within 3 s"


async def test_fast_polls_ask_the_small_endpoint_and_keep_the_full_polls_meters(sim):
    s = sim.sim
    key = s.add_routing_key("Premium")
    cadence = Cadence(fast_s=0.05, full_s=3600, quiet_max_factor=1.0)
    engine, _ = engine_for(sim, {"rr": ("routing.run", key, None)}, cadence=cadence, watchdog_s=60)
    snaps = []
    engine.subscribe(snaps.append)
    await engine.start()
    try:
        assert await wait_until(lambda: len(snaps) >= 3, 10)
        s.spend(key, 4)
        spent_at = len(snaps)
        assert await wait_until(lambda: len(snaps) > spent_at + 1, 10)
    finally:
        await engine.stop()
    paths = [r.path for r in s.requests(key=key)]
    assert paths[0] == "user/requests" and set(paths[1:]) == {"user/requests/hourly"}, paths
    last = snaps[-1]
    assert last.meter("requests_hour").used == 4  # the fast endpoint saw the spending
    assert last.meter("requests_day") == snaps[0].meter("requests_day")  # kept from the full poll
    assert last.meter("requests_minute") == snaps[0].meter("requests_minute")


@pytest.mark.slow
async def test_no_request_before_retry_after_passes(sim):
    s = sim.sim
    key = s.add_routing_key("Premium")
    s.inject(key, "status_429", count=1, retry_after=2)
    cadence = Cadence(fast_s=0.2, full_s=0.2, backoff_base_s=0.1)
    engine, _ = engine_for(sim, {"rr": ("routing.run", key, None)}, cadence=cadence, watchdog_s=60)
    states: list[State] = []
    engine.subscribe(lambda snap: states.append(snap.state))
    await engine.start()
    try:
        assert await wait_until(lambda: State.RATE_LIMITED in states, 10), "the 429 was never seen"
        engine.wake()  # a user's "Refresh now" must not break the promise either
        await engine.refresh_now()
        assert await wait_until(lambda: states[-1] is State.OK, 15), states
    finally:
        await engine.stop()
    records = s.requests(key=key)
    first_429 = records[0].time
    after = [r.time - first_429 for r in records[1:]]
    assert after and min(after) >= timedelta(seconds=2), after


@pytest.mark.slow
async def test_a_retry_after_seen_in_traffic_holds_polling_too(sim):
    s = sim.sim
    key = s.add_routing_key("Premium")
    engine, _ = engine_for(sim, {"rr": ("routing.run", key, None)},
                           cadence=Cadence(fast_s=3600, full_s=3600), watchdog_s=60)
    states: list[State] = []
    engine.subscribe(lambda snap: states.append(snap.state))
    await engine.start()
    try:
        assert await wait_until(lambda: states == [State.OK], 10)
        seen = utcnow()
        engine.observe(TrafficObservation("rr", seen, state=State.RATE_LIMITED, error=ErrorInfo(
            message="Concurrent stream limit exceeded", http_status=429, code="RATE_LIMIT_ERROR",
            retry_after_s=2, limit_kind="concurrent_streams")))
        assert states[-1] is State.RATE_LIMITED
        await engine.refresh_now()
        # the 429 ends at its Retry-After by itself; the poll it held comes after
        assert await wait_until(lambda: states[-1] is State.OK, 15), states
        assert await wait_until(lambda: len(s.requests(key=key)) == 2, 15)
    finally:
        await engine.stop()
    records = s.requests(key=key)
    assert len(records) == 2
    assert records[1].time - seen >= timedelta(seconds=2)


async def test_recovers_on_its_own_when_a_fault_clears(sim):
    s = sim.sim
    key = s.add_routing_key("Premium")
    s.inject(key, "http_500_html", count=2)
    cadence = Cadence(fast_s=0.2, full_s=0.2, backoff_base_s=0.1, backoff_max_s=0.4)
    engine, _ = engine_for(sim, {"rr": ("routing.run", key, None)}, cadence=cadence)
    states: list[State] = []
    engine.subscribe(lambda snap: states.append(snap.state))
    await engine.start()
    try:
        assert await wait_until(lambda: State.OK in states, 15), states
    finally:
        await engine.stop()
    assert states == [State.ERROR, State.ERROR, State.OK]
    assert s.count(key=key) == 3


async def test_a_kill_stops_the_stream_and_the_account_polls_again_at_once(sim):
    s = sim.sim
    key = s.add_routing_key("Premium")
    engine, _ = engine_for(sim, {"rr": ("routing.run", key, None)},
                           cadence=Cadence(fast_s=3600, full_s=3600), watchdog_s=60)
    polls: list[float] = []
    engine.subscribe(lambda snap: polls.append(time.monotonic()))
    await engine.start()
    try:
        assert await wait_until(lambda: len(polls) == 1, 10)
        s.open_stream(key, max_tokens=10_000)
        (result,) = await engine.kill_all()
        assert (result.supported, result.killed_streams, result.error) == (True, 1, None)
        assert await wait_until(lambda: len(polls) == 2, 10), "no poll after streams were stopped"
    finally:
        await engine.stop()
    assert [r.path for r in s.requests(key=key)] == ["user/requests", "user/streams/kill", "user/requests/hourly"]


def test_the_engine_is_built_on_one_thread_and_runs_on_a_loop_of_another(sim):
    """The tray will run the engine on a thread of its own: building it needs no event loop."""
    import threading

    s = sim.sim
    engine, _ = engine_for(sim, {"rr": ("routing.run", s.add_routing_key("Premium"), None)})
    results = []

    def worker() -> None:
        async def main():
            try:
                return await engine.poll_all()
            finally:
                await engine.stop()

        results.extend(asyncio.run(main()))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(30)
    assert [(r.account_id, r.state) for r in results] == [("rr", State.OK)]


@pytest.mark.slow
async def test_an_account_without_a_usage_endpoint_lives_on_traffic_alone(sim):
    """Routeway without a management key: nothing is ever sent; the numbers come from traffic, and a
    window whose reset has passed stops counting as exhausted without any request."""
    from traywidget.model import Freshness, Meter, Source, Unit

    s = sim.sim
    key = s.add_routeway_key()
    engine, _ = engine_for(sim, {"rw": ("routeway", key, None)},
                           cadence=Cadence(fast_s=0.05, full_s=0.05, quiet_max_factor=1.0), watchdog_s=60)
    states: list[State] = []
    engine.subscribe(lambda snap: states.append(snap.state))
    await engine.start()
    try:
        assert await wait_until(lambda: len(states) >= 3, 10)
        seen = utcnow()
        spent = Meter("requests_minute", Unit.REQUESTS, used=5, limit=5, remaining=0,
                      resets_at=seen + timedelta(seconds=1), source=Source.TRAFFIC, seen_at=seen)
        engine.observe(TrafficObservation("rw", seen, meters=(spent,)))
        assert states[-1] is State.EXHAUSTED and engine.snapshots["rw"].meters == (spent,)
        assert await wait_until(lambda: states[-1] is State.OK, 10), states[-5:]
    finally:
        await engine.stop()
    # refilled at its reset, an estimate, still with the time it was seen
    assert engine.snapshots["rw"].meters == (replace(spent, used=0, remaining=5, resets_at=None,
                                                     freshness=Freshness.REFILLED),)
    assert s.count(key=key) == 0
