"""A loopback simulator of routing.run, OpenRouter, Routeway and any
OpenAI-compatible provider, for tests, the demo and the gateway's tests.

Importing this package starts nothing; the server modules (aiohttp) load on
first use of SimulatorServer or build_demo.

Where to read on:
  state.py        the world and what a test sets per key (faults, stream scripts, settings)
  scripts.py      stream script parameters          control.py   the /_sim HTTP control API
  streaming.py    how a stream runs and ends        frames.py    the bytes of a stream
  errors.py       error bodies, also mid-stream     ratelimit_headers.py  rate-limit headers
  routes_*.py     each provider's endpoints         passthrough.py  _echo, _bytes, _upload
  app.py          the prefixes                      server.py    running it (thread or foreground)
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
