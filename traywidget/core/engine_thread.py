"""The engine behind the views' EngineControl, running on a loop thread of its own.

The GUI thread only sends commands (each one a call or a coroutine handed to
the engine's loop) and receives snapshots; parsing, scheduling and every
socket stay on the engine's thread, so a burst of 100 responses never
stalls the tray. Subscribers are called on the engine's thread: the views
subscribe a function that emits a Qt signal, which Qt queues to the GUI
thread.
"""

from __future__ import annotations

import logging
from types import MappingProxyType
from typing import Iterable, Mapping

from traywidget.core.config import Settings
from traywidget.core.control import SnapshotCallback
from traywidget.core.engine import Engine
from traywidget.core.loop_thread import LoopThread
from traywidget.model import Account, KillResult, Snapshot

log = logging.getLogger(__name__)


class ThreadedEngine:
    """An EngineControl whose engine runs on a loop thread of its own.

    The thread runs from construction, so views can subscribe and seed
    before `start` begins polling (commands run in the order they are sent).
    """

    def __init__(self, engine: Engine, thread: LoopThread | None = None) -> None:
        self.engine = engine
        self.thread = thread or LoopThread()
        self.thread.start()

    # -- lifecycle (the app's, not the views') -------------------------------
    def start(self) -> None:
        """Begin polling (returns at once; the engine starts on its thread)."""
        self.thread.submit(self.engine.start())

    async def stop(self) -> None:
        """Stop the engine (closing its client) on its loop, then the loop."""
        try:
            await self.thread.run(self.engine.stop())
        finally:
            self.thread.stop()

    # -- EngineControl -------------------------------------------------------
    @property
    def snapshots(self) -> Mapping[str, Snapshot]:
        # A copy: the engine's own mapping changes on its thread while a view reads.
        return MappingProxyType(dict(self.engine.snapshots))

    @property
    def paused(self) -> bool:
        return self.engine.paused

    def subscribe(self, callback: SnapshotCallback) -> None:
        self.thread.call(self.engine.subscribe, callback)

    def seed(self, snapshots: Iterable[Snapshot]) -> None:
        self.thread.call(self.engine.seed, list(snapshots))

    async def refresh_now(self) -> None:
        await self.thread.run(self.engine.refresh_now())

    async def kill_all(self, accounts: Iterable[str] | None = None) -> list[KillResult]:
        return await self.thread.run(self.engine.kill_all(accounts))

    def pause(self) -> None:
        self.thread.call(self.engine.pause)

    def resume(self) -> None:
        self.thread.call(self.engine.resume)

    def set_accounts(self, accounts: Iterable[Account]) -> None:
        self.thread.call(self.engine.set_accounts, list(accounts))

    def apply_settings(self, settings: Settings) -> None:
        self.thread.call(self.engine.apply_settings, settings)

    async def test_connection(self, account: Account, api_key: str, management_key: str | None = None) -> Snapshot:
        return await self.thread.run(self.engine.test_connection(account, api_key, management_key))
