"""Fan-out: one refresh (and one Kill all streams) of 1 vs many accounts."""

from __future__ import annotations

import asyncio
import time

from bench.common import Context, Result, SimProcess, make_accounts, median, rnd

NAME = "fanout"
LATENCY_MS = 200
REFRESH_N = 100
KILL_N = 20
TARGET_RATIO = 1.3

METHOD = f"""\
The simulator runs in its own process (`bench.simproc`) with {LATENCY_MS} ms of injected latency on
every usage and kill request (`sim.inject(key, "latency", ms={LATENCY_MS})`); routing.run keys only
(Routeway's management endpoints have their own per-minute limits). In the benchmark process one
`Engine` per size (its own `make_client()`, as the app has: pool of 100 connections) with an
in-memory secret store times
`await engine.poll_all()` (one full poll of every account) for 1 and {REFRESH_N} accounts, and
`await engine.kill_all()` for 1 and {KILL_N} accounts. Each size is timed after one untimed warm-up, with the same
engine
and client throughout, as a refresh in the running app would be;
the median of the runs is reported, and the ratio of the medians (many / one). Every snapshot must be
OK and every kill answered, or the run fails."""


async def _time(sim: SimProcess, n: int, kill: bool, reps: int, prefix: str) -> list[float]:
    from traywidget.engine.engine import Engine
    from traywidget.model import State

    accounts, store, _ = make_accounts(sim, "routing.run", n, prefix, latency_ms=LATENCY_MS)
    times = []
    engine = Engine(accounts, store)  # one engine and client, as in the running app
    try:
        for rep in range(reps + 1):  # the first is a warm-up
            t0 = time.perf_counter()
            if kill:
                results = await engine.kill_all()
                bad = [r for r in results if r.error is not None]
            else:
                results = await engine.poll_all()
                bad = [r for r in results if r.state is not State.OK]
            elapsed = time.perf_counter() - t0
            if bad:
                raise RuntimeError(f"{len(bad)} of {n} failed, e.g. {bad[0]}")
            if rep:
                times.append(elapsed)
            await asyncio.sleep(0.3)
    finally:
        await engine.stop()
    return times


def run(ctx: Context) -> list[Result]:
    reps = ctx.reps(7, 3)
    out = []
    with SimProcess() as sim:
        for what, n_many, kill in (("refresh", REFRESH_N, False), ("kill all", KILL_N, True)):
            one = asyncio.run(_time(sim, 1, kill, reps, f"{what[0]}1"))
            many = asyncio.run(_time(sim, n_many, kill, reps, f"{what[0]}{n_many}"))
            ratio = median(many) / median(one)
            ctx.log(f"  {what}: 1 -> {median(one):.3f} s, {n_many} -> {median(many):.3f} s, ratio {ratio:.2f}")
            out += [
                Result(NAME, f"{what}, 1 account", rnd(median(one)), "s", runs=[rnd(t) for t in one]),
                Result(NAME, f"{what}, {n_many} accounts", rnd(median(many)), "s", runs=[rnd(t) for t in many]),
                Result(NAME, f"{what}: {n_many} / 1 accounts", round(ratio, 2), "×", f"≤ {TARGET_RATIO}",
                       ratio <= TARGET_RATIO),
            ]
    return out
