"""The views fed by an engine on its own thread (as in the app): snapshots reach the tray and panel on the
GUI thread through queued signals, and commands from the menu reach the engine's thread."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QObject, Slot

from tests.engine.test_engine_sim import engine_for
from tests.ui.conftest import make_controller
from traywidget.store.config import Config


class ThreadWitness(QObject):
    """A receiver living on the GUI thread, like the controller: notes where each delivery runs."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []

    @Slot(object)
    def deliver(self, _snapshot) -> None:
        self.threads.append(threading.current_thread().name)


@pytest.mark.slow
def test_snapshots_arrive_on_the_gui_thread_and_kill_all_reaches_the_engine(qtbot, sim, engine_bridge):
    s = sim.sim
    engine, _ = engine_for(sim, {"rr": ("routing.run", s.add_routing_key("Premium"), None)})
    bridge = engine_bridge
    controller = make_controller(engine, config=Config(accounts=tuple(engine.accounts)), bridge=bridge)
    witness = ThreadWitness()
    controller.bus.snapshot.connect(witness.deliver)
    shown = []
    controller.notifier.shown.connect(shown.append)
    bridge.ask(engine.start, name="engine-start")
    try:
        qtbot.waitUntil(lambda: "rr" in controller.tray.snapshots, timeout=15000)
        assert witness.threads and set(witness.threads) == {threading.main_thread().name}
        qtbot.waitUntil(lambda: "left" in controller.tray.primary_icon().toolTip(), timeout=5000)
        assert controller.panel.cards["rr"].snapshot.state.is_fine
        controller.kill_all()  # composed on the engine's thread; the answer comes back to the GUI thread
        qtbot.waitUntil(lambda: bool(shown), timeout=5000)
        assert [a.title for a in shown] == ["No streams were running"]
    finally:
        bridge.loop_thread.submit(engine.stop()).result(10)
