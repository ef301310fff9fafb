"""The engine on a loop thread of its own, driven from another event loop (as the tray's GUI loop does),
against the simulator over real sockets."""

from __future__ import annotations

import asyncio
import threading

from tests.core.test_engine_sim import engine_for
from tests.reliability.helpers import wait_until
from traywidget.core.config import Settings
from traywidget.core.engine_thread import ThreadedEngine
from traywidget.model import Account, State


async def test_commands_cross_to_the_engine_thread_and_snapshots_come_back_from_it(sim):
    s = sim.sim
    engine, keys = engine_for(sim, {"rr": ("routing.run", s.add_routing_key("Premium"), None)})
    threaded = ThreadedEngine(engine)
    seen: list[tuple[str, str, State]] = []
    threaded.subscribe(lambda snap: seen.append((threading.current_thread().name, snap.account_id, snap.state)))
    threaded.start()
    try:
        assert await wait_until(lambda: seen, 15)
        assert seen[0] == ("traywidget-engine", "rr", State.OK)
        assert threaded.snapshots["rr"].state is State.OK

        before = s.count(key=keys["rr"])
        await threaded.refresh_now()
        assert await wait_until(lambda: s.count(key=keys["rr"]) > before, 15)

        (result,) = await threaded.kill_all()
        assert (result.account_id, result.supported, result.error) == ("rr", True, None)

        threaded.pause()
        assert await wait_until(lambda: threaded.paused, 5)
        threaded.resume()
        assert await wait_until(lambda: not threaded.paused, 5)

        probe = Account("probe", "routing.run", "Probe", sim.url("routing.run"))
        snapshot = await threaded.test_connection(probe, s.add_routing_key("Lite"))
        assert (snapshot.account_id, snapshot.state, snapshot.plan) == ("probe", State.OK, "Lite")
        assert "probe" not in threaded.snapshots  # a test is never published

        threaded.apply_settings(Settings(fast_interval_s=120.0, full_interval_s=600.0))
        threaded.set_accounts([])
        assert await wait_until(lambda: "rr" not in threaded.snapshots, 5)
    finally:
        await threaded.stop()
    assert not any(t.name == "traywidget-engine" for t in threading.enumerate())


async def test_a_failing_command_reaches_the_awaiting_loop(sim):
    s = sim.sim
    engine, _ = engine_for(sim, {"rr": ("routing.run", s.add_routing_key("Premium"), None)})
    threaded = ThreadedEngine(engine)
    try:
        probe = Account("probe", "no-such-provider", "Probe", sim.url("routing.run"))
        try:
            await threaded.test_connection(probe, "key")
        except ValueError as exc:
            assert "no-such-provider" in str(exc)
        else:
            raise AssertionError("an unknown provider must fail the test connection")
    finally:
        await threaded.stop()


def test_the_gui_loop_never_waits_while_the_engine_works(sim):
    """While the engine thread parses a 50-account refresh, the calling loop keeps running its own
    callbacks (it only awaits a future)."""
    s = sim.sim
    engine, _ = engine_for(sim, {f"a{i}": ("routing.run", s.add_routing_key("Premium"), None) for i in range(50)})
    threaded = ThreadedEngine(engine)

    async def gui() -> int:
        ticks = 0
        refresh = asyncio.ensure_future(threaded.thread.run(engine.poll_all()))
        while not refresh.done():
            ticks += 1
            await asyncio.sleep(0.001)
        assert [snap.state for snap in refresh.result()] == [State.OK] * 50
        return ticks

    try:
        assert asyncio.run(gui()) > 5
    finally:
        asyncio.run(threaded.stop())
