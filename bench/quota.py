"""Quota cost: usage requests sent per account per hour at the default cadence,
quiet and near exhaustion, per provider, in time scaled down."""

from __future__ import annotations

import asyncio
import time
from dataclasses import fields, replace

from bench.common import Context, Result, SimProcess, make_accounts

NAME = "quota"
SCALE = 120.0  # 30 s of bench time = 1 hour of app time
PROVIDERS = ("routing.run", "openrouter", "routeway")

METHOD = f"""\
One `Engine` in the benchmark process with the default `Cadence` with every interval divided by
{SCALE:g} (so {3600 / SCALE:g} s of run time stand for one hour), started as the app starts it
(`engine.start()`: the scheduler with quiet back-off, near-exhaustion polling, reset chasing). Per
provider one quiet account (plenty left, nothing changes) and one near exhaustion (routing.run
470/500 this hour, OpenRouter $9.50 of a $10 key limit, Routeway 190/200 today, i.e. 5-6 % left,
below the 10 % `near_fraction`). HTTP requests per account are counted by the simulator process
(API and management keys together), scaled to one hour, and compared with
`requests_budget_per_hour()` (polls per hour while quiet: 3600/fast + 3600/full); a poll can be more
than one request (OpenRouter and Routeway full polls ask for key and credits/balance). Routeway's
management endpoints' own per-minute limits are switched off in the simulator here: time runs
{SCALE:g}× faster, and at the real cadence the app never comes near them."""


async def _run(sim: SimProcess, seconds: float):
    from traywidget.engine.engine import Cadence, Engine, EngineSettings
    from traywidget.store.secrets import MemorySecretStore

    default = Cadence()
    scaled = replace(default, **{f.name: getattr(default, f.name) / SCALE for f in fields(Cadence)
                                 if f.name.endswith("_s")})
    accounts, store, keys_of = [], MemorySecretStore(), {}
    for provider in PROVIDERS:
        for near in (False, True):
            accs, keys, items = make_accounts(sim, provider, 1, f"q-{provider}-{'near' if near else 'quiet'}",
                                              near=near)
            accounts += accs
            for management in (False, True):
                if keys.get(accs[0].id, management):
                    store.set(accs[0].id, keys.get(accs[0].id, management), management=management)
            keys_of[accs[0].id] = (provider, near, {v for v in items[0].values() if v and v != provider})
    polls = {a.id: 0 for a in accounts}
    states = {}
    engine = Engine(accounts, store, settings=EngineSettings(cadence=scaled))

    def seen(snap):
        polls[snap.account_id] += 1
        states[snap.account_id] = snap.state.value if hasattr(snap.state, "value") else str(snap.state)

    engine.subscribe(seen)
    sim.mark()
    t0 = time.monotonic()
    await engine.start()
    await asyncio.sleep(seconds)
    await engine.stop()
    elapsed = time.monotonic() - t0
    counts = sim.stats()["requests"]
    per_hour = 3600.0 / (elapsed * SCALE)
    out = {}
    for account_id, (provider, near, keys) in keys_of.items():
        out[(provider, near)] = (sum(counts.get(k, 0) for k in keys) * per_hour, polls[account_id] * per_hour,
                                 states.get(account_id))
    return out


def run(ctx: Context) -> list[Result]:
    from traywidget.engine.engine import requests_budget_per_hour

    seconds = 3600.0 / SCALE * (0.5 if ctx.quick else 1.0)
    with SimProcess() as sim:
        data = asyncio.run(_run(sim, seconds))
    budget = requests_budget_per_hour()
    out = []
    for (provider, near), (requests, polls, state) in data.items():
        label = "near exhaustion" if near else "quiet"
        ctx.log(f"  {provider} {label}: {requests:.0f} requests/h, {polls:.0f} polls/h (state {state})")
        target = f"≤ {budget:g} polls/h (budget)" if not near else ""
        out.append(Result(NAME, f"{provider}, {label}: requests per account per hour", round(requests),
                          "req/h", target, (polls <= budget * 1.05) if not near else None,
                          note=f"{polls:.0f} polls/h; last state {state}"))
    return out
