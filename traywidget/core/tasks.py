"""One owner for every background task of the GUI.

qasync 0.28 keeps no reference to tasks it runs (its issue #98): a task
nobody holds can be garbage-collected mid-flight. The TaskRunner holds them,
logs failures and cancels them all on shutdown. Qt-free.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

log = logging.getLogger(__name__)


class TaskRunner:
    """Owns every background task: keeps references (qasync drops them), logs failures, cancels all."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(
        self,
        awaitable: Awaitable[Any],
        name: str | None = None,
        on_done: Callable[[Any, BaseException | None], None] | None = None,
    ) -> asyncio.Task[Any]:
        loop = self._loop or asyncio.get_event_loop()
        task = loop.create_task(_as_coroutine(awaitable), name=name)
        self.tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self.tasks.discard(t)
            if t.cancelled():
                error: BaseException | None = asyncio.CancelledError()
                result = None
            else:
                error = t.exception()
                result = None if error else t.result()
                if error is not None:
                    log.error("background task %s failed", t.get_name(), exc_info=error)
            if on_done is not None:
                try:
                    on_done(result, error)
                except Exception:  # noqa: BLE001
                    log.exception("task callback failed")

        task.add_done_callback(done)
        return task

    async def cancel_all(self) -> None:
        tasks = [t for t in self.tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.tasks.clear()


async def _as_coroutine(awaitable: Awaitable[Any]) -> Any:
    return await awaitable
