"""Running the simulator: in a background thread (tests, demo) or in the
foreground (`traywidget simulate`). Binds 127.0.0.1 only, access log off so
keys never reach a log."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from aiohttp import web

from traywidget.simulator.streaming import STREAMS
from traywidget.simulator.web_app import make_app
from traywidget.simulator.wire import PREFIXES
from traywidget.simulator.world import Simulator

HOST = "127.0.0.1"
SHUTDOWN_TIMEOUT_S = 1.0
# Room for hundreds of connections arriving at once (the gateway's tests open 500).
BACKLOG = 1024


def base_url(port: int, provider_id: str) -> str:
    """The base URL (with /v1) a user would configure for provider_id."""
    return f"http://{HOST}:{port}{PREFIXES[provider_id]}"


async def _start_site(sim: Simulator, port: int) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(make_app(sim), access_log=None, handle_signals=False,
                           handler_cancellation=True, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port, backlog=BACKLOG)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1]
    return runner, bound


async def _stop_site(runner: web.AppRunner) -> None:
    app = runner.app
    await app[STREAMS].cancel_all()
    await runner.cleanup()


class SimulatorServer:
    """The simulator on a free loopback port, served from its own thread and loop."""

    def __init__(self, sim: Simulator | None = None, port: int = 0) -> None:
        self.sim = sim or Simulator()
        self._requested_port = port
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    def url(self, provider_id: str) -> str:
        if self.port is None:
            raise RuntimeError("server not started")
        return base_url(self.port, provider_id)

    def start(self) -> SimulatorServer:
        """Start serving; returns once the socket is listening."""
        if self._thread is not None:
            raise RuntimeError("already started")
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = self._loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._runner, self.port = loop.run_until_complete(_start_site(self.sim, self._requested_port))
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(_stop_site(self._runner))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="traywidget-simulator", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Cancel streams, close the server and join the thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._thread = None

    def call(self, fn: Callable, *args):
        """Run fn(*args) on the server loop and return its result (for loop-bound actions)."""
        if self._loop is None or self._thread is None:
            raise RuntimeError("server not started")
        async def run():
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=5)

    def start_stream(self, key: str, max_tokens: int = 10**9, model: str | None = None):
        """Open a server-side stream on key (so a kill has something to stop).
        Returns None, or the Denial if the provider refused it."""
        runner = self._runner
        if runner is None:
            raise RuntimeError("server not started")
        return self.call(lambda: runner.app[STREAMS].start(key, max_tokens, model))

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


async def serve(port: int = 0, demo: bool = False, ready: Callable[[int], None] | None = None,
                sim: Simulator | None = None) -> None:
    """Serve until cancelled. With demo, the demo accounts are created first.
    `ready(port)` is called once listening. Prints nothing."""
    sim = sim or Simulator()
    if demo:
        from traywidget.simulator.demo_world import build_demo

        build_demo(sim)
    runner, bound = await _start_site(sim, port)
    try:
        if ready is not None:
            ready(bound)
        await asyncio.Event().wait()
    finally:
        await _stop_site(runner)


def run_forever(port: int = 0, demo: bool = False, ready: Callable[[int], None] | None = None,
                sim: Simulator | None = None) -> None:
    """Blocking entry point for `traywidget simulate`; returns on Ctrl-C."""
    try:
        asyncio.run(serve(port, demo, ready, sim))
    except KeyboardInterrupt:
        pass
