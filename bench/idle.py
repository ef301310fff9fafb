"""Idle cost: CPU, wake-ups and TCP connections of the real app sitting in the tray."""

from __future__ import annotations

import subprocess
import time
from dataclasses import replace

from bench.common import (
    APP_CMD,
    ROOT,
    Context,
    Result,
    SimProcess,
    app_home,
    cpu_seconds,
    desktop,
    have_tray_tools,
    make_accounts,
    median,
    rnd,
    stop,
    wakeups_over,
)
from traywidget.store.secrets import MemorySecretStore

NAME = "idle"
WARMUP_S = 10.0
TARGET_CPU = 0.5  # % of one core

METHOD = f"""\
The real app (`python -m traywidget`) runs with a throw-away config of 3 accounts (routing.run,
OpenRouter, Routeway, each with its management key where it has one) at the default cadence, keys
from the bench keyring backend (`PYTHON_KEYRING_BACKEND=bench.memkeyring.MemKeyring`), under Xvfb +
trayer (a real XEmbed tray; offscreen if those tools are missing). The three accounts point at three
loopback hosts (127.0.0.1/.2/.3) of one simulator process, so "per host" means per provider. After
{WARMUP_S:g} s (start-up and the first polls) the window opens: CPU seconds (psutil, user+system, all
threads) and wake-ups (voluntary + involuntary context switches of each thread in
`/proc/PID/task/*/status`, sampled every 0.1 s so that threads ending or starting in the window count
for the time they lived in it) over the window; TCP connections are the distinct client ports the
simulator saw per host, counted from the app's start (a kept-alive client opens one per host)."""


def run(ctx: Context) -> list[Result]:
    reps, window = ctx.reps(3, 1), (20.0 if ctx.quick else 60.0)
    cpu, wake, conns, requests = [], [], [], []
    with SimProcess() as sim:
        for rep in range(reps):
            accounts, store = [], MemorySecretStore()
            for host, provider in enumerate(("routing.run", "openrouter", "routeway")):
                accs, keys, _ = make_accounts(sim, provider, 1, f"idle{rep}-{provider}")
                accounts.append(replace(accs[0], base_url=sim.base_url(provider, host)))
                for management in (False, True):
                    if keys.get(accs[0].id, management):
                        store.set(accs[0].id, keys.get(accs[0].id, management), management=management)
            with app_home(accounts, store) as env:
                if have_tray_tools():
                    with desktop(env) as denv:
                        figures = _measure(sim, denv, window)
                    mode = "Xvfb + trayer"
                else:
                    figures = _measure(sim, {**env, "QT_QPA_PLATFORM": "offscreen"}, window)
                    mode = "offscreen"
            cpu.append(figures[0]), wake.append(figures[1]), conns.append(figures[2]), requests.append(figures[3])
            ctx.log(f"  idle run {rep + 1} ({mode}): {figures[0]:.3f} % CPU, {figures[1]:.1f} wake-ups/s, "
                    f"connections per host {figures[2]}, requests per key {sorted(figures[3].values())}")
    worst_conn = [max(c.values()) if c else 0 for c in conns]
    return [
        Result(NAME, f"CPU, 3 accounts, default cadence ({window:g} s window, {mode})", rnd(median(cpu)),
               "% of one core", f"< {TARGET_CPU} %", median(cpu) < TARGET_CPU, [rnd(c) for c in cpu]),
        Result(NAME, "wake-ups (context switches, all threads)", rnd(median(wake)), "per s",
               runs=[rnd(w) for w in wake]),
        Result(NAME, "TCP connections opened per host (max over hosts)", median(worst_conn), "",
               "1 (kept alive)", max(worst_conn) <= 1, [str(c) for c in conns]),
    ]


def _measure(sim: SimProcess, env: dict[str, str], window: float) -> tuple[float, float, dict, dict]:
    sim.mark()
    proc = subprocess.Popen(APP_CMD, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(WARMUP_S)
        if proc.poll() is not None:
            raise RuntimeError(f"app exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]  # started with stderr=PIPE
        c0, t0 = cpu_seconds(proc.pid), time.monotonic()
        switches = wakeups_over(proc.pid, window)
        c1, t1 = cpu_seconds(proc.pid), time.monotonic()
        stats = sim.stats()
    finally:
        stop(proc)
    return 100.0 * (c1 - c0) / (t1 - t0), switches / (t1 - t0), stats["connections"], stats["requests"]
