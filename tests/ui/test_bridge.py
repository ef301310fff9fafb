"""The one bridge from the GUI thread to the engine's: a real engine on its own loop thread, against the
simulator over real sockets. Commands cross with `send`, `ask` answers on the GUI thread, `call` is awaited
from the GUI's loop, and the GUI's loop never waits while the engine works."""

from __future__ import annotations

import asyncio
import logging
import threading

from PySide6.QtCore import QCoreApplication

from tests.engine.test_engine_sim import engine_for
from traywidget.engine.loop_thread import LoopThread
from traywidget.model import Account, State
from traywidget.store.config import Settings
from traywidget.ui.bridge import EngineBridge


def answers(qtbot, bridge: EngineBridge, work, name: str = "work"):
    """Ask for `work` and wait for its answer; (result, error, the thread it was delivered on)."""
    got: list = []
    bridge.ask(work, name=name, on_done=lambda result, error: got.append(
        (result, error, threading.current_thread().name)))
    qtbot.waitUntil(lambda: bool(got), timeout=15000)
    return got[0]


def test_commands_cross_to_the_engine_thread_and_answers_come_back_to_the_gui_thread(qtbot, sim):
    s = sim.sim
    engine, keys = engine_for(sim, {"rr": ("routing.run", s.add_routing_key("Premium"), None)})
    thread = LoopThread()
    thread.start()
    bridge = EngineBridge(thread)
    seen: list[tuple[str, str, State]] = []
    gui = threading.main_thread().name
    try:
        bridge.send(engine.subscribe, lambda snap: seen.append((threading.current_thread().name, snap.account_id,
                                                                  snap.state)))
        bridge.ask(engine.start, name="engine-start")
        qtbot.waitUntil(lambda: bool(seen), timeout=15000)
        assert seen[0] == ("traywidget-engine", "rr", State.OK)

        before = s.count(key=keys["rr"])
        assert answers(qtbot, bridge, engine.refresh_now) == (None, None, gui)
        assert s.count(key=keys["rr"]) > before

        results, error, where = answers(qtbot, bridge, engine.kill_all)
        assert error is None and where == gui
        ((account_id, supported, kill_error),) = [(r.account_id, r.supported, r.error) for r in results]
        assert (account_id, supported, kill_error) == ("rr", True, None)

        bridge.send(engine.pause)
        qtbot.waitUntil(lambda: engine.paused, timeout=5000)
        bridge.send(engine.resume)
        qtbot.waitUntil(lambda: not engine.paused, timeout=5000)

        probe = Account("probe", "routing.run", "Probe", sim.url("routing.run"))
        lite = s.add_routing_key("Lite")
        snapshot, error, where = answers(qtbot, bridge, lambda: engine.test_connection(probe, lite))
        assert (snapshot.account_id, snapshot.state, snapshot.plan, error, where) == (
            "probe", State.OK, "Lite", None, gui)
        assert "probe" not in engine.snapshots  # a test is never published

        bridge.send(engine.apply_settings, Settings(fast_interval_s=120.0, full_interval_s=600.0))
        bridge.send(engine.set_accounts, [])
        qtbot.waitUntil(lambda: "rr" not in engine.snapshots, timeout=5000)
    finally:
        thread.submit(engine.stop()).result(10)
        thread.stop()
    assert not any(t.name == "traywidget-engine" for t in threading.enumerate())


def test_a_failure_reaches_whoever_asked_and_is_logged_when_nobody_did(qtbot, sim, caplog):
    s = sim.sim
    engine, _ = engine_for(sim, {"rr": ("routing.run", s.add_routing_key("Premium"), None)})
    thread = LoopThread()
    thread.start()
    bridge = EngineBridge(thread)
    probe = Account("probe", "no-such-provider", "Probe", sim.url("routing.run"))
    try:
        result, error, where = answers(qtbot, bridge, lambda: engine.test_connection(probe, "key"))
        assert result is None and isinstance(error, ValueError) and "no-such-provider" in str(error)
        assert where == threading.main_thread().name
        with caplog.at_level(logging.ERROR, logger="traywidget.ui.bridge"):
            bridge.ask(lambda: engine.test_connection(probe, "key"), name="unheard-test")
            qtbot.waitUntil(lambda: "unheard-test failed" in caplog.text, timeout=15000)
    finally:
        thread.submit(engine.stop()).result(10)
        thread.stop()


def test_what_is_still_asked_at_shutdown_is_not_waited_for(qtbot):
    thread = LoopThread()
    thread.start()
    bridge = EngineBridge(thread)
    got: list = []
    started = threading.Event()

    async def forever() -> None:
        started.set()
        await asyncio.sleep(3600)

    bridge.ask(forever, name="forever", on_done=lambda r, e: got.append((r, e)))
    assert started.wait(10)
    bridge.cancel_all()
    thread.stop()  # returns at once: the hour-long work was cancelled, not waited for
    assert not any(t.name == "traywidget-engine" for t in threading.enumerate())
    QCoreApplication.processEvents()  # a queued answer would be delivered now
    assert got == []


def test_the_gui_loop_never_waits_while_the_engine_works(qtbot, sim):
    """While the engine thread parses a 50-account refresh, the calling loop keeps running its own
    callbacks (it only awaits a future)."""
    s = sim.sim
    engine, _ = engine_for(sim, {f"a{i}": ("routing.run", s.add_routing_key("Premium"), None) for i in range(50)})
    thread = LoopThread()
    thread.start()
    bridge = EngineBridge(thread)

    async def gui() -> int:
        ticks = 0
        refresh = asyncio.ensure_future(bridge.call(engine.poll_all))
        while not refresh.done():
            ticks += 1
            await asyncio.sleep(0.001)
        assert [snap.state for snap in refresh.result()] == [State.OK] * 50
        return ticks

    try:
        assert asyncio.run(gui()) > 5
    finally:
        thread.submit(engine.stop()).result(10)
        thread.stop()
