"""Weeks of polling compressed into seconds: many thousands of poll cycles
against the simulator with tiny cadences (and a few faults on the way). Memory,
asyncio tasks and open sockets must stay flat."""

from __future__ import annotations

import asyncio
import gc
import time

import psutil
import pytest

from traywidget.engine.engine import Engine, EngineSettings
from traywidget.engine.schedule import Cadence
from traywidget.model import State
from traywidget.store.secrets import MemorySecretStore

from .helpers import PROVIDERS, SHORT, add_member, badge_lies

ACCOUNTS = 20
# A fixed amount of work, not a fixed time: a loaded machine takes longer,
# it does not fail (MAX_S only stops a soak that makes no progress at all).
TARGET_CYCLES = 10000
MAX_S = 240.0
WARMUP_S = 3.0


def _client_sockets(port: int) -> int:
    """Our open TCP connections to the simulator (its own server-side ends excluded)."""
    return sum(1 for c in psutil.Process().net_connections(kind="tcp")
               if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED)


def _tasks() -> tuple[int, int]:
    """(long-lived engine tasks, every task): the per-request tasks of a poll in flight come and go."""
    tasks = asyncio.all_tasks()
    named = sum(1 for t in tasks if t.get_name().startswith(("poll-", "engine-watchdog")))
    return named, len(tasks)


def _rss_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


@pytest.mark.slow
async def test_soak_many_thousand_poll_cycles(sim, report):
    secrets = MemorySecretStore()
    members = [add_member(sim, PROVIDERS[i % 3], f"soak-{SHORT[PROVIDERS[i % 3]]}{i}", secrets)
               for i in range(ACCOUNTS)]
    for m in members:
        if m.management_key:
            sim.sim.configure(m.management_key, mgmt_limits=False)
    max_parallel = sum(2 if m.account.provider == "routeway" else 1 for m in members)  # requests per full round
    cadence = Cadence(fast_s=0.01, full_s=0.02, quiet_max_factor=1.0, near_s=0.01, backoff_base_s=0.01,
                      backoff_max_s=0.05)
    engine = Engine([m.account for m in members], secrets,
                    settings=EngineSettings(cadence=cadence, timeout_s=2, watchdog_s=0.5))
    polls = [0]
    lies: list[str] = []

    def on_snapshot(snap) -> None:
        polls[0] += 1
        if polls[0] % 50 == 0:
            lies.extend(badge_lies(snap))

    engine.subscribe(on_snapshot)
    port = sim.port
    tasks_idle = len(asyncio.all_tasks())
    await engine.start()
    try:
        await asyncio.sleep(WARMUP_S)
        sim.sim.reset()  # the simulator's request log lives in this process: keep it out of the figures
        rss_start, tasks_start, socks_start = _rss_mb(), _tasks(), _client_sockets(port)
        polls_start = polls[0]
        started = time.monotonic()
        tick = 0
        while polls[0] - polls_start < TARGET_CYCLES and time.monotonic() - started < MAX_S:
            await asyncio.sleep(1.0)
            tick += 1
            if tick % 2 == 0:
                sim.sim.reset()
            if tick % 5 == 1:  # a burst of faults on a few accounts, then they clear
                for m in members[:3]:
                    sim.sim.inject(m.usage_key, ("http_500_html", "reset", "truncated_json")[tick % 3], count=5)
        sim.sim.clear()
        await asyncio.sleep(0.5)  # let the last faults clear
        sim.sim.reset()
        rss_end, tasks_end, socks_end = _rss_mb(), _tasks(), _client_sockets(port)
        cycles = polls[0] - polls_start
        soaked_s = time.monotonic() - started
        states = {s.state for s in engine.snapshots.values()}
    finally:
        await engine.stop()
    await asyncio.sleep(0.1)
    socks_after_stop = _client_sockets(port)
    tasks_after_stop = len(asyncio.all_tasks())
    report(f"soak: {cycles} poll cycles in {soaked_s:.0f} s over {ACCOUNTS} accounts (after {WARMUP_S:g} s warm-up), "
           f"RSS {rss_start:.1f}→{rss_end:.1f} MB, engine tasks {tasks_start[0]}→{tasks_end[0]} "
           f"(all tasks {tasks_start[1]}→{tasks_end[1]} incl. requests in flight; {tasks_after_stop} after stop, "
           f"{tasks_idle} before start), "
           f"client sockets {socks_start}→{socks_end} (≤ {max_parallel}), {socks_after_stop} after stop")
    assert cycles >= TARGET_CYCLES, f"only {cycles} poll cycles in {MAX_S:g} s: the engine stalled"
    assert rss_end - rss_start < 20, (rss_start, rss_end)
    assert tasks_end[0] == tasks_start[0] == ACCOUNTS + 1, (tasks_start, tasks_end)
    assert tasks_end[1] <= ACCOUNTS + 1 + max_parallel + 2, tasks_end  # nothing beyond what can be in flight
    assert tasks_after_stop == tasks_idle, (tasks_idle, tasks_after_stop)
    assert socks_end <= max_parallel and socks_start <= max_parallel, (socks_start, socks_end)
    assert socks_after_stop == 0
    assert states == {State.OK}, states
    assert not lies, lies[:5]
