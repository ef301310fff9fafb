"""The status document of a running engine: what `status --json` would print for its accounts now."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traywidget.present.status_document import status_document

if TYPE_CHECKING:  # the engine (and httpx) load only where one runs
    from traywidget.engine.engine import Engine


def engine_status_document(engine: Engine) -> dict[str, Any]:
    """The engine's latest snapshot of every account, in the accounts' order (as `status` lists them)."""
    snapshots = engine.snapshots
    return status_document(snapshots[a.id] for a in engine.accounts if a.id in snapshots)
