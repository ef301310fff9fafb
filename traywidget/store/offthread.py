"""Blocking calls that may never return (a keyring waiting on an unlock prompt), run where they
cannot hold the process.

asyncio.to_thread runs a call on the loop's default executor, whose threads the interpreter joins
at exit: one keyring call stuck behind a prompt then keeps a process alive after SIGTERM closed
its port. Here every call gets a daemon thread of its own (these calls are rare: a keyring read,
a proxy lookup), so a stuck one is abandoned at exit instead of waited for, and a caller can stop
waiting for it after a timeout.

    loop.set_default_executor(DaemonExecutor())     # asyncio.to_thread never holds the exit
    keyring = StuckGuard(timeout=5.0)                 # one per thing that may hang
    value = await keyring.call(store.get, "acct")      # TimeoutError after 5 s, or at once while stuck
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class DaemonExecutor(ThreadPoolExecutor):
    """Each call on a daemon thread of its own; shutdown never waits (a stuck call is abandoned).
    A ThreadPoolExecutor only in name (asyncio's set_default_executor asks for one): it keeps no pool."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)

        threading.Thread(target=run, name=f"traywidget-{getattr(fn, '__name__', 'call')}", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to wait for: the threads are daemons, and a call still running is abandoned."""


_DAEMONS = DaemonExecutor()


def _forget_outcome(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # an abandoned call's error is nobody's to report


class StuckGuard:
    """Calls into one thing that may hang (the keyring behind an unlock prompt): each is waited for
    at most `timeout` s, on a daemon thread. While a call that timed out still runs, the next ones
    fail at once (TimeoutError) instead of piling up threads and waiting again; they are tried
    again once it returned."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._stuck: asyncio.Future[Any] | None = None

    @property
    def stuck(self) -> bool:
        return self._stuck is not None and not self._stuck.done()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        if self.stuck:
            raise TimeoutError
        future = asyncio.get_running_loop().run_in_executor(_DAEMONS, fn, *args)
        future.add_done_callback(_forget_outcome)  # a caller that stopped waiting leaves no error unread
        try:
            # shield: a timeout stops the waiting, not the future (it tells when the call came back).
            return await asyncio.wait_for(asyncio.shield(future), self.timeout)
        except TimeoutError:
            self._stuck = future
            raise
