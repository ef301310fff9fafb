"""A loopback simulator of routing.run, OpenRouter and Routeway for tests and the demo.

Importing this package starts nothing; the server modules (aiohttp) load on
first use of SimulatorServer or build_demo.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traywidget.simulator.state import Simulator
from traywidget.simulator.windows import ManualClock

if TYPE_CHECKING:
    from traywidget.simulator.demo import build_demo
    from traywidget.simulator.server import SimulatorServer

__all__ = ["ManualClock", "Simulator", "SimulatorServer", "build_demo"]


def __getattr__(name: str) -> Any:
    if name == "SimulatorServer":
        from traywidget.simulator.server import SimulatorServer

        return SimulatorServer
    if name == "build_demo":
        from traywidget.simulator.demo import build_demo

        return build_demo
    raise AttributeError(name)
