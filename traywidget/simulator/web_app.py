"""The aiohttp application: each provider under its own prefix, plus /_sim.

Base URLs: http://127.0.0.1:PORT/routing.run/v1, .../openrouter/api/v1,
.../routeway/v1, .../openai-compatible/v1. Under each, the pass-through test
endpoints of passthrough.py (_echo, _bytes, _upload). /_sim/* is the control
API (sim_control.py). A background task ticks the world (traffic, scheduled jobs)
and keeps the requested internal streams open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from traywidget.simulator import (
    passthrough,
    routes_balances,
    routes_openai_compatible,
    routes_openrouter,
    routes_routeway,
    routes_routing,
    sim_control,
)
from traywidget.simulator.streaming import STREAMS, InternalStreams
from traywidget.simulator.wire import SIM, STOPPING, record_requests
from traywidget.simulator.world import Simulator

TICK_S = 0.25
# Request bodies read whole (JSON) may be this big: providers take multi-megabyte
# prompts. _echo and _upload stream their bodies and have no limit.
MAX_JSON_BODY = 64 * 1024 * 1024
log = logging.getLogger(__name__)


def make_app(sim: Simulator) -> web.Application:
    app = web.Application(middlewares=[record_requests, routes_balances.firewall_in_front],
                          client_max_size=MAX_JSON_BODY)
    app[SIM] = sim
    app[STOPPING] = asyncio.Event()
    app[STREAMS] = InternalStreams(sim, app[STOPPING])
    for module in (passthrough, routes_routing, routes_openrouter, routes_routeway, routes_openai_compatible,
                   routes_balances, sim_control):
        module.setup(app)
    app.cleanup_ctx.append(_background)
    app.on_shutdown.append(_signal_stopping)
    return app


async def _signal_stopping(app: web.Application) -> None:
    """Lets hanging handlers and open streams end before the server closes."""
    app[STOPPING].set()


async def _background(app: web.Application):
    task = asyncio.get_running_loop().create_task(_ticker(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await app[STREAMS].cancel_all()


async def _ticker(app: web.Application) -> None:
    sim, streams = app[SIM], app[STREAMS]
    while True:
        try:
            sim.tick()
            streams.maintain()
        except Exception:  # a failing demo job must not stop the world
            log.exception("simulator tick failed")
        await asyncio.sleep(TICK_S)
