"""What the views may ask of the engine, and nothing more.

The tray, the panel and the settings dialog talk to the engine only through
`EngineControl` and the snapshots it publishes, never through its insides. So
the engine can later run on a thread and event loop of its own behind an
adapter of the same shape. Every method is called from one event loop; no Qt
anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from traywidget.model import Account, KillResult, Snapshot
from traywidget.store.config import Settings

SnapshotCallback = Callable[[Snapshot], None]


class EngineControl(Protocol):
    @property
    def snapshots(self) -> Mapping[str, Snapshot]:
        """The latest snapshot of every account (read-only)."""
        ...

    @property
    def paused(self) -> bool: ...

    def subscribe(self, callback: SnapshotCallback) -> None:
        """Call `callback` with every snapshot published from now on (on the engine's loop)."""
        ...

    def seed(self, snapshots: Iterable[Snapshot]) -> None:
        """Show cached snapshots (marked stale) until the first poll of each account."""
        ...

    async def refresh_now(self) -> None:
        """Poll every account now; a server's Retry-After still holds."""
        ...

    async def kill_all(self, accounts: Iterable[str] | None = None) -> list[KillResult]:
        """Stop every active stream on every account that can (of `accounts`, when given), and say
        per account what happened."""
        ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def set_accounts(self, accounts: Iterable[Account]) -> None:
        """Apply an edited account list (and re-read the keys: they may have changed too)."""
        ...

    def apply_settings(self, settings: Settings) -> None:
        """Apply the user's thresholds and cadences."""
        ...

    async def test_connection(self, account: Account, api_key: str, management_key: str | None = None) -> Snapshot:
        """Poll an account once with keys that are not saved yet; nothing is published."""
        ...
