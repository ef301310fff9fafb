"""Start-up: process start to the tray icon docked (with cached values), and peak RSS
after 10 s idle, against a bare PySide6 tray measured in the same run."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Sequence

from bench.common import (
    APP_CMD,
    BARE_CMD,
    PY,
    ROOT,
    Context,
    Result,
    SimProcess,
    app_home,
    desktop,
    have_tray_tools,
    make_accounts,
    median,
    proc_status_kb,
    rnd,
    stop,
    time_to_dock,
    wait_undocked,
)

NAME = "startup"
IDLE_S = 10.0
TARGET_TIME, TARGET_RSS = 1.3, 1.3

METHOD = f"""\
Under Xvfb + trayer (a real XEmbed tray host), alternately: the bare tray (`bench/bare_tray.py`:
QApplication + QSystemTrayIcon with a drawn icon) and the app (`python -m traywidget`, 3 routing.run
accounts on the simulator process, a snapshot cache of those 3 accounts, bench keyring). Start-up is the
time from just before `Popen` until the process's icon window is docked in trayer's panel (polled with
`xwininfo -root -tree` every few ms; the same detector for both). The app seeds the cached snapshots
into the tray before it shows the icon (`controller.seed(...)` precedes `controller.show()` in
`app._main`), so a docked icon is one with cached values. Memory: the process then idles {IDLE_S:g} s;
peak RSS is `VmHWM` from `/proc/PID/status`. Medians of the runs; the targets are ratios app / bare.
Beside them, the same measurements of `bench/stack_tray.py`: the bare tray plus a qasync loop before
its icon and an httpx client 50 ms after it (where the app, too, loads httpx) — what the project's fixed
dependencies cost before any of the app's own code. The app
reads its keys from the in-memory bench keyring (`bench/memkeyring.py`), as before: a real Secret
Service backend would add keyring's SecretService/secretstorage/cryptography modules."""
STACK_CMD = [PY, "-m", "bench.stack_tray"]


def start_and_idle(cmd: Sequence[str], env: dict[str, str], idle_s: float = IDLE_S) -> tuple[float, float]:
    """(seconds to icon docked, peak RSS MiB after idle_s)."""
    wait_undocked(env)
    t0 = time.monotonic()
    proc = subprocess.Popen(list(cmd), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        shown = time_to_dock(proc, env, t0)
        time.sleep(idle_s)
        peak = proc_status_kb(proc.pid, "VmHWM") / 1024
    finally:
        stop(proc)
    return shown, peak


async def _cached_snapshots(accounts, store):
    from traywidget.engine.engine import Engine

    engine = Engine(accounts, store)
    try:
        return await engine.poll_all()
    finally:
        await engine.stop()


def run(ctx: Context) -> list[Result]:
    if not have_tray_tools():
        return [Result(NAME, "start-up", None, "", note="not run: Xvfb, trayer or xwininfo missing")]
    reps = ctx.reps(5, 2)
    bare_t, bare_m, app_t, app_m, stack_t, stack_m = [], [], [], [], [], []
    with SimProcess() as sim:
        accounts, store, _ = make_accounts(sim, "routing.run", 3, "start")
        snapshots = asyncio.run(_cached_snapshots(accounts, store))
        with app_home(accounts, store, cache_snapshots=snapshots) as env, desktop(env) as denv:
            start_and_idle(BARE_CMD, denv, 0)  # warm the page cache for both
            start_and_idle(APP_CMD, denv, 0)
            for rep in range(reps):
                t, m = start_and_idle(BARE_CMD, denv)
                bare_t.append(t), bare_m.append(m)
                t, m = start_and_idle(STACK_CMD, denv)
                stack_t.append(t), stack_m.append(m)
                t, m = start_and_idle(APP_CMD, denv)
                app_t.append(t), app_m.append(m)
                ctx.log(f"  start-up run {rep + 1}: bare {bare_t[-1]:.3f} s {bare_m[-1]:.0f} MiB, "
                        f"app {app_t[-1]:.3f} s {app_m[-1]:.0f} MiB")
    rt, rm = median(app_t) / median(bare_t), median(app_m) / median(bare_m)
    return [
        Result(NAME, "bare PySide6 tray: start to icon shown", rnd(median(bare_t)), "s", runs=[rnd(x) for x in bare_t]),
        Result(NAME, "fixed stack (bare + qasync; httpx after the icon): start to icon shown", rnd(median(stack_t)),
               "s",
               runs=[rnd(x) for x in stack_t]),
        Result(NAME, "app: start to icon shown with cached values", rnd(median(app_t)), "s",
               runs=[rnd(x) for x in app_t]),
        Result(NAME, "start-up app / bare", round(rt, 2), "×", f"≤ {TARGET_TIME}", rt <= TARGET_TIME),
        Result(NAME, f"bare PySide6 tray: peak RSS after {IDLE_S:g} s idle", rnd(median(bare_m)), "MiB",
               runs=[rnd(x) for x in bare_m]),
        Result(NAME, f"fixed stack (bare + qasync; httpx after the icon): peak RSS after {IDLE_S:g} s idle",
               rnd(median(stack_m)),
               "MiB", runs=[rnd(x) for x in stack_m]),
        Result(NAME, "peak RSS fixed stack / bare", round(median(stack_m) / median(bare_m), 2), "×"),
        Result(NAME, f"app: peak RSS after {IDLE_S:g} s idle", rnd(median(app_m)), "MiB", runs=[rnd(x) for x in app_m]),
        Result(NAME, "peak RSS app / bare", round(rm, 2), "×", f"≤ {TARGET_RSS}", rm <= TARGET_RSS),
    ]
