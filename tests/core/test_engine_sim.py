"""The engine against the simulator over real sockets: concurrency, isolation,
Retry-After honoured to the request, recovery after faults."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from traywidget.core.engine import Cadence, Engine, EngineSettings
from traywidget.core.secrets import MemorySecretStore
from traywidget.model import Account, State, utcnow


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
        for _ in range(100):
            if "dead" in order:
                break
            await asyncio.sleep(0.1)
    finally:
        await engine.stop()
    assert order[-1] == "dead", order
    assert sorted(order[:3]) == ["ok0", "ok1", "ok2"]
    assert engine.snapshots["dead"].state is State.ERROR
    assert "did not answer" in engine.snapshots["dead"].error.message


async def test_no_request_before_retry_after_passes(sim):
    s = sim.sim
    key = s.add_routing_key("Premium")
    s.inject(key, "status_429", count=1, retry_after=2)
    cadence = Cadence(fast_s=0.2, full_s=0.2, backoff_base_s=0.1)
    engine, _ = engine_for(sim, {"rr": ("routing.run", key, None)}, cadence=cadence, watchdog_s=60)
    limited_at = []
    engine.subscribe(lambda snap: snap.state is State.RATE_LIMITED and limited_at.append(utcnow()))
    await engine.start()
    try:
        await asyncio.sleep(0.5)
        engine.wake()  # a user's "Refresh now" must not break the promise either
        await asyncio.sleep(2.5)
    finally:
        await engine.stop()
    records = s.requests(key=key)
    assert limited_at, "the 429 was never seen"
    first_429 = records[0].time
    after = [r.time for r in records[1:]]
    assert after, "the account never recovered"
    assert min(after) - first_429 >= timedelta(seconds=2), [t - first_429 for t in after]
    assert engine.snapshots["rr"].state is State.OK
    print(f"\nquota-safety: {len(records)} requests counted; none within Retry-After")


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
        for _ in range(50):
            if states.count(State.OK):
                break
            await asyncio.sleep(0.1)
    finally:
        await engine.stop()
    assert states[:2] == [State.ERROR, State.ERROR]
    assert State.OK in states
