"""The one way GUI code asks the engine's thread for something.

The engine and the gateway run on an asyncio loop of their own (engine/loop_thread.py),
so the GUI thread never stalls on network work. Everything the GUI sends there goes
through an EngineBridge:

    bridge.send(engine.pause)                                  # fire and forget
    bridge.ask(engine.refresh_now, name="refresh")             # a coroutine, run there
    bridge.ask(lambda: engine.test_connection(a, key), name="test", on_done=show)
    result = await bridge.call(engine.stop)                    # from a coroutine on the GUI's loop

`ask` calls `on_done(result, error)` back on the GUI thread (a queued Qt signal), so
a dialog can update its widgets there; a command whose halves both live on the engine
thread (Kill all streams: the gateway's streams, then the kill APIs) is one `ask` of a
coroutine that composes them. Snapshots come the other way, through ui/bus.py.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from PySide6.QtCore import QObject, Qt, Signal

from traywidget.engine.loop_thread import LoopThread

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[], Awaitable[Any]]
OnDone = Callable[[Any, BaseException | None], None]


class Asker(Protocol):
    """What a dialog needs of the bridge: run work on the engine's thread, hear back on the GUI thread."""

    def __call__(self, work: Work, *, name: str, on_done: OnDone | None = None) -> None: ...


class Bridge(Protocol):
    """What the controller needs of the bridge (EngineBridge; in widget tests, one that runs work at once)."""

    def send(self, fn: Callable[..., Any], *args: Any) -> None: ...

    def ask(self, work: Work, *, name: str, on_done: OnDone | None = None) -> None: ...


class EngineBridge(QObject):
    _answered = Signal(object, object, object)  # on_done, result, error: always delivered on the GUI thread

    def __init__(self, thread: LoopThread, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.loop_thread = thread  # not `thread`: QObject.thread() is the Qt thread this object lives in
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._answered.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def send(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call fn(*args) on the engine's thread soon; a failure there is logged."""
        self.loop_thread.call(fn, *args)

    def ask(self, work: Work, *, name: str, on_done: OnDone | None = None) -> None:
        """Run the coroutine `work()` on the engine's thread; then on_done(result, error) on the GUI thread.

        A failure with no on_done to hear it is logged."""
        future = self.loop_thread.submit(_started(work))
        self._pending.add(future)

        def finished(done: concurrent.futures.Future[Any]) -> None:  # on the engine's thread
            self._pending.discard(done)
            if done.cancelled():
                return
            error = done.exception()
            if error is not None and on_done is None:
                log.error("%s failed on the engine's thread", name, exc_info=error)
            if on_done is not None:
                self._answered.emit(on_done, None if error else done.result(), error)

        future.add_done_callback(finished)

    async def call(self, work: Callable[[], Awaitable[T]]) -> T:
        """Await, from a coroutine on the GUI's loop, `work()` run on the engine's thread."""
        return await asyncio.wrap_future(self.loop_thread.submit(_started(work)))

    def cancel_all(self) -> None:
        """At shutdown: what was asked and has not answered is not waited for."""
        for future in list(self._pending):
            future.cancel()
        self._pending.clear()

    def _deliver(self, on_done: OnDone, result: Any, error: BaseException | None) -> None:
        try:
            on_done(result, error)
        except Exception:
            log.exception("a reply from the engine's thread could not be shown")


async def _started(work: Callable[[], Awaitable[T]]) -> T:
    # The coroutine is made on the engine's thread, where it runs.
    return await work()


class InlineBridge:
    """A bridge to an engine that lives on the GUI thread itself (the self-test's still engine, widget
    tests): `send` calls at once, `ask` runs the work to completion at once on a private loop."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def send(self, fn: Callable[..., Any], *args: Any) -> None:
        fn(*args)

    def ask(self, work: Work, *, name: str, on_done: OnDone | None = None) -> None:
        self.asked.append(name)
        loop = asyncio.new_event_loop()
        try:
            result, error = loop.run_until_complete(_started(work)), None
        except Exception as exc:
            result, error = None, exc
        finally:
            loop.close()
        if on_done is not None:
            on_done(result, error)
        elif error is not None:
            log.error("%s failed", name, exc_info=error)
