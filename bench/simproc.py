"""The simulator in a process of its own, so its CPU never counts as the app's.

    python -m bench.simproc            prints "READY <port>" once listening

It serves traywidget's simulator (traywidget.simulator.web_app.make_app) on the
same port on 127.0.0.1, 127.0.0.2 and 127.0.0.3, so accounts can point at
three distinct hosts, and adds a few /_bench endpoints:
- POST /_bench/accounts {provider, n, latency_ms, near, management}: n new accounts
- POST /_bench/mark: start counting requests and connections from now
- GET  /_bench/stats: requests per key and TCP connections per host since the mark
A connection is a distinct client (ip, port) seen by the server.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from aiohttp import web

from traywidget.simulator import Simulator
from traywidget.simulator.records import OPENROUTER, ROUTEWAY, ROUTING
from traywidget.simulator.streaming import STREAMS
from traywidget.simulator.web_app import make_app

HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")


class Tracker:
    def __init__(self) -> None:
        self.mark = time.time()
        self.connections: dict[tuple[str, int], tuple[str, float]] = {}  # peer -> (host, first seen)

    def see(self, request: web.Request) -> None:
        transport = request.transport
        if transport is None:
            return
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        if peer and local and tuple(peer[:2]) not in self.connections:
            self.connections[tuple(peer[:2])] = (local[0], time.time())


def add_accounts(sim: Simulator, body: dict[str, Any]) -> list[dict[str, Any]]:
    provider, n = body["provider"], int(body.get("n", 1))
    latency, near = body.get("latency_ms"), bool(body.get("near"))
    out = []
    for _ in range(n):
        if provider == ROUTING:
            item = sim.add_account(ROUTING, plan=body.get("plan", "Premium"))
            if near:  # 470 of 500 this hour: 6 % left
                sim.set_counters(item["api_key"], hour=470, day=600)
        elif provider == OPENROUTER:
            item = sim.add_account(OPENROUTER, management=True, limit=10.0, limit_reset="monthly",
                                   total_credits=25.0)
            if near:  # $9.50 of a $10 key limit spent: 5 % left
                sim.spend(item["api_key"], 1, cost=9.5)
        elif provider == ROUTEWAY:
            item = sim.add_account(ROUTEWAY, management=True, daily_limit=200)
            # Time runs faster in the quota benchmark; the management endpoints' own
            # per-minute limits are real-time limits the app never reaches at its cadence.
            sim.configure(item["management_key"], mgmt_limits=False)
            if near:  # 190 of 200 today: 5 % left (set directly: spending would also fill the minute window)
                sim._rw_keys[item["api_key"]].usage_today.set(sim.now(), 190)
        else:
            raise ValueError(provider)
        if latency:
            sim.inject(item["api_key"], "latency", ms=int(latency))
            if item.get("management_key"):
                sim.inject(item["management_key"], "latency", ms=int(latency))
        out.append(item)
    return out


def build(sim: Simulator, tracker: Tracker) -> web.Application:
    app = make_app(sim)

    @web.middleware
    async def track(request: web.Request, handler):
        if not request.path.startswith("/_"):
            tracker.see(request)
        return await handler(request)

    async def accounts(request: web.Request) -> web.Response:
        return web.json_response({"accounts": add_accounts(sim, await request.json())})

    async def mark(request: web.Request) -> web.Response:
        tracker.mark = time.time()
        return web.json_response({"ok": True})

    async def stats(request: web.Request) -> web.Response:
        since = sim.now().fromtimestamp(tracker.mark, sim.now().tzinfo)
        per_key: dict[str, int] = {}
        for record in sim.requests(since=since):
            if record.key:
                per_key[record.key] = per_key.get(record.key, 0) + 1
        per_host: dict[str, int] = {}
        for host, first in tracker.connections.values():
            if first >= tracker.mark:
                per_host[host] = per_host.get(host, 0) + 1
        return web.json_response({"requests": per_key, "connections": per_host})

    app.middlewares.append(track)
    app.router.add_post("/_bench/accounts", accounts)
    app.router.add_post("/_bench/mark", mark)
    app.router.add_get("/_bench/stats", stats)
    return app


async def serve() -> None:
    sim, tracker = Simulator(), Tracker()
    runner = web.AppRunner(build(sim, tracker), access_log=None, handle_signals=False,
                           handler_cancellation=True, shutdown_timeout=1.0)
    await runner.setup()
    first = web.TCPSite(runner, HOSTS[0], 0, backlog=1024)
    await first.start()
    port = runner.addresses[0][1]
    for host in HOSTS[1:]:
        await web.TCPSite(runner, host, port, backlog=1024).start()
    print(f"READY {port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.app[STREAMS].cancel_all()
        await runner.cleanup()


def main() -> int:
    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
