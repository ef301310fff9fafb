"""Responsiveness: how late a 5 ms Qt timer fires while 100 accounts refresh
and the tray menu and panel update."""

from __future__ import annotations

import json
import sys

from bench.common import Context, Result, SimProcess, bench_env, median, rnd, run_child

NAME = "responsiveness"
N = 100
LATENCY_MS = 200
TIMER_MS = 5
TARGET_MS = 16.0  # one frame at 60 Hz
MENU_MS = 100

METHOD = f"""\
A child process (`python -m bench.responsiveness --child`, `QT_QPA_PLATFORM=offscreen`) builds a
QApplication, a qasync loop and the real views through `traywidget.ui.controller.AppController` (tray
view, panel shown, alert policy, notifier), composed as `traywidget.ui.app` composes them: a real `Engine`
with {N} routing.run accounts on the simulator process ({LATENCY_MS} ms latency) running on its own
loop thread asked through `EngineBridge`, and a `SnapshotRecorder` writing a real `HistoryStore` (temp dir)
on that thread. A 5 ms `QTimer`
(PreciseTimer) records how late each tick is (interval − 5 ms). Each run: 0.3 s of quiet, then
`engine.poll_all()` on the engine's thread ({N} snapshots flow through the bus into tray and panel) while the menu's
`aboutToShow` is emitted every {MENU_MS} ms (a user opening the menu again and again: the
dynamic menu is rebuilt each time) and the panel's 1 s tick runs; the
largest lateness in the run is its figure. A run lasts until the views have received all {N}
snapshots (they arrive in slices after `poll_all` returns), so no view work spills into the next run.
The first run is a warm-up (the cards get their meter rows and are laid out for the first time);
its figure is reported on its own line. Median of the other runs."""


def run(ctx: Context) -> list[Result]:
    reps = ctx.reps(5, 2)
    with SimProcess() as sim:
        env = bench_env(QT_QPA_PLATFORM="offscreen")
        data = run_child("bench.responsiveness", ["--child", str(sim.port), str(reps)], env, timeout=300)
    worst = [rnd(x * 1000) for x in data["max_late_s"]]
    p99 = [rnd(x * 1000) for x in data["p99_late_s"]]
    refresh = [rnd(x) for x in data["refresh_s"]]
    ctx.log(f"  max timer lateness {worst} ms, refresh {refresh} s")
    return [
        Result(NAME, f"largest 5 ms-timer delay, {N}-account refresh + menu + panel", rnd(median(worst)), "ms",
               f"< {TARGET_MS:g} ms", median(worst) < TARGET_MS, worst),
        Result(NAME, "99th percentile timer delay in the same runs", rnd(median(p99)), "ms", runs=p99),
        Result(NAME, f"{N}-account refresh with the GUI attached", rnd(median(refresh)), "s", runs=refresh),
        Result(NAME, f"largest delay in the warm-up: the first numbers fill {N} new cards (once per start)",
               rnd(data["first_fill_late_s"] * 1000), "ms"),
    ]


# ------------------------------------------------------------------- child


def child(port: int, reps: int) -> dict:
    import asyncio
    import tempfile
    import time
    from pathlib import Path

    import qasync
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from bench.common import make_accounts
    from traywidget.engine.engine import Engine
    from traywidget.engine.loop_thread import LoopThread
    from traywidget.store.config import Config
    from traywidget.store.history import HistoryStore
    from traywidget.store.recorder import SnapshotRecorder
    from traywidget.ui.bridge import EngineBridge
    from traywidget.ui.controller import AppController

    app = QApplication([sys.argv[0]])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    sim = SimProcess.attach(port)
    accounts, store, _ = make_accounts(sim, "routing.run", N, "resp", latency_ms=LATENCY_MS)
    tmp = Path(tempfile.mkdtemp(prefix="traywidget-bench-resp-"))
    history = HistoryStore(tmp)
    engine = Engine(accounts, store)
    thread = LoopThread()
    thread.start()
    bridge = EngineBridge(thread)
    recorder = SnapshotRecorder(history, None, latest=lambda: engine.snapshots.values())
    bridge.send(engine.subscribe, recorder.on_snapshot)
    controller = AppController(engine, bridge=bridge, config=Config(accounts=tuple(accounts)), secrets=store,
                               history=history)
    controller.panel.show()

    lateness: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        lateness.append(max(0.0, now - last[0] - TIMER_MS / 1000))
        last[0] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(tick)
    menu_timer = QTimer()
    menu_timer.timeout.connect(controller.tray.contextMenu().aboutToShow.emit)
    delivered = [0]
    controller.bus.snapshot.connect(lambda _snapshot: delivered.__setitem__(0, delivered[0] + 1))

    async def until_views_have(count: int) -> None:
        # The snapshots reach the views in slices after poll_all returns: the run
        # lasts until the views have them all, or their work would spill unseen
        # into the next run's quiet time.
        while delivered[0] < count:
            await asyncio.sleep(0.005)

    async def one_run() -> tuple[float, float, float]:
        await asyncio.sleep(0.3)
        lateness.clear()
        last[0] = time.perf_counter()
        timer.start(TIMER_MS)
        menu_timer.start(MENU_MS)
        await asyncio.sleep(0.1)
        t0 = time.perf_counter()
        expected = delivered[0] + N
        await bridge.call(engine.poll_all)
        await until_views_have(expected)
        elapsed = time.perf_counter() - t0
        await asyncio.sleep(0.1)
        timer.stop()
        menu_timer.stop()
        ordered = sorted(lateness)
        return max(ordered), ordered[int(len(ordered) * 0.99) - 1], elapsed

    async def main() -> dict:
        out = {"max_late_s": [], "p99_late_s": [], "refresh_s": [], "first_fill_late_s": 0.0}
        for rep in range(reps + 1):
            worst, p99, elapsed = await one_run()
            if not rep:
                out["first_fill_late_s"] = worst
            else:
                out["max_late_s"].append(worst)
                out["p99_late_s"].append(p99)
                out["refresh_s"].append(elapsed)
        await bridge.call(engine.stop)
        thread.stop()
        return out

    with loop:
        result = loop.run_until_complete(main())
    history.close()
    return result


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(child(int(sys.argv[2]), int(sys.argv[3]))))
