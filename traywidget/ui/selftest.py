"""`traywidget --self-test`: build the tray, panel, badge and notifier offscreen
with fake data and exit 0 if all is well (the packaged binary's smoke test)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Callable

from PySide6.QtWidgets import QApplication

from traywidget import __version__
from traywidget.core.config import ConfigStore
from traywidget.model import Snapshot, utcnow
from traywidget.ui.controller import build_tray_for_tests


def run_self_test(app: QApplication) -> int:
    """Build the tray, panel, badge and notifier offscreen with fake data; exit 0 if all is well."""
    import qasync

    from traywidget.core.secrets import MemorySecretStore
    from traywidget.model import REQUESTS_HOUR, Meter, State, Unit
    from traywidget.ui.badge import ICON_SIZES, badge_spec, render_badge

    class _Engine:
        snapshots: dict[str, Snapshot] = {}

        def __init__(self) -> None:
            self._subs: list[Callable[[Snapshot], None]] = []

        def subscribe(self, cb: Callable[[Snapshot], None]) -> None:
            self._subs.append(cb)

        def publish(self, snapshot: Snapshot) -> None:
            for cb in self._subs:
                cb(snapshot)

    with tempfile.TemporaryDirectory(prefix="traywidget-selftest-") as tmp:
        engine = _Engine()
        controller = build_tray_for_tests(engine, config_store=ConfigStore(Path(tmp)), secrets=MemorySecretStore())
        snapshot = Snapshot(
            account_id="selftest", provider="routing.run", label="Self-test", state=State.OK,
            meters=(Meter(REQUESTS_HOUR, Unit.REQUESTS, limit=500, remaining=420),), fetched_at=utcnow(),
        )
        engine.publish(snapshot)
        spec = badge_spec([snapshot])
        for size in ICON_SIZES:
            image = render_badge(spec, size, 2.0)
            if image.isNull() or image.pixelColor(image.width() // 2, image.height() // 2).alpha() == 0:
                print(f"self-test FAILED: blank badge at {size}px", file=sys.stderr)
                return 1
        if not controller.tray.contextMenu().actions():
            print("self-test FAILED: empty tray menu", file=sys.stderr)
            return 1
        loop = qasync.QEventLoop(app)
        try:
            loop.run_until_complete(asyncio.sleep(0.05))
        finally:
            loop.close()
        controller.panel.close()
    print(f"traywidget {__version__} self-test ok (platform {app.platformName()})")
