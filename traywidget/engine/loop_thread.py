"""An asyncio event loop in a thread of its own: where the engine (and the gateway) run in the app.

The GUI thread must never wait on network work: parsing a burst of 100
responses, or copying the bytes of 50 proxied streams, would stall the
event loop that paints the tray and the panel. So that work runs here, on a
plain asyncio loop in a daemon thread; results cross back to the GUI as
queued Qt signals (the views' side) or as futures the GUI's own loop awaits.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from traywidget.store.offthread import DaemonExecutor

log = logging.getLogger(__name__)

T = TypeVar("T")


class LoopThread:
    def __init__(self, name: str = "traywidget-engine") -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the loop thread is not running")
        return self._loop

    def start(self) -> None:
        """Start the thread; returns once its loop runs."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()
        self._ready.wait()

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        # A keyring call stuck behind an unlock prompt must not hold the app's exit (offthread.py).
        loop.set_default_executor(DaemonExecutor())
        asyncio.set_event_loop(loop)
        self._loop = loop
        loop.call_soon(self._ready.set)
        try:
            loop.run_forever()
        finally:
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def submit(self, awaitable: Awaitable[T]) -> concurrent.futures.Future[T]:
        """Run a coroutine on this loop from any thread."""
        return asyncio.run_coroutine_threadsafe(_as_coroutine(awaitable), self.loop)

    async def run(self, awaitable: Awaitable[T]) -> T:
        """Await, from another thread's event loop, a coroutine run on this one."""
        return await asyncio.wrap_future(self.submit(awaitable))

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call fn(*args) on this loop soon (fire and forget; a failure is logged)."""

        def guarded() -> None:
            try:
                fn(*args)
            except Exception:
                log.exception("%s failed on %s", getattr(fn, "__qualname__", fn), self.name)

        self.loop.call_soon_threadsafe(guarded)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop (cancelling what still runs on it) and join the thread."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("%s did not stop within %.0f s", self.name, timeout)
        self._thread = None
        self._loop = None


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable
