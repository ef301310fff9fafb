"""A loopback simulator of routing.run, OpenRouter, Routeway and any
OpenAI-compatible provider, for tests, the demo and the gateway's tests.

Importing this package starts nothing; the server modules (aiohttp) load on
first use of SimulatorServer or build_demo.

Where to read on:
  world.py        the world and what a test sets per key (faults, stream scripts, settings);
                  each provider's part in world_<provider>.py over world_state.py
  scripts.py      stream script parameters          sim_control.py  the /_sim HTTP API
  streaming.py    how a stream runs and ends        frames.py    the bytes of a stream
  error_replies.py  error bodies, also mid-stream     ratelimit_headers.py  rate-limit headers
  routes_*.py     each provider's endpoints         passthrough.py  _echo, _bytes, _upload
  web_app.py      the prefixes                      runner.py    running it (thread or foreground)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traywidget.simulator.windows import ManualClock
from traywidget.simulator.world import Simulator

if TYPE_CHECKING:
    from traywidget.simulator.demo_world import build_demo, demo_accounts
    from traywidget.simulator.runner import PREFIXES, SimulatorServer, base_url, run_forever

__all__ = ["PREFIXES", "ManualClock", "Simulator", "SimulatorServer", "base_url", "build_demo", "demo_accounts",
           "run_forever"]


def __getattr__(name: str) -> Any:
    # The server's names load aiohttp: only when asked for, so importing the package stays cheap.
    if name in {"SimulatorServer", "PREFIXES", "base_url", "run_forever"}:
        from traywidget.simulator import runner

        return getattr(runner, name)
    if name in {"build_demo", "demo_accounts"}:
        from traywidget.simulator import demo_world

        return getattr(demo_world, name)
    raise AttributeError(name)
