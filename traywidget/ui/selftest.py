"""`traywidget --self-test`: build the tray, panel, badge and notifier offscreen
with fake data and exit 0 if all is well (the packaged binary's smoke test)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtWidgets import QApplication, QDialogButtonBox

from traywidget import __version__
from traywidget.i18n import ENGLISH, current_language
from traywidget.model import (
    REQUESTS_HOUR,
    Account,
    KillResult,
    Meter,
    Snapshot,
    State,
    Unit,
    utcnow,
)
from traywidget.store.config import Config, ConfigStore, Settings
from traywidget.store.secrets import MemorySecretStore
from traywidget.ui.badge import ICON_SIZES, render_badge
from traywidget.ui.bridge import InlineBridge
from traywidget.ui.controller import AppController

SELF_TEST_ACCOUNT = Account("selftest", "routing.run", "Self-test", "https://api.routing.run/v1")


class _StillEngine:
    """Stands in for the engine: publishes what it is given, polls nothing."""

    def __init__(self) -> None:
        self.snapshots: dict[str, Snapshot] = {}
        self._subscribers: list[Callable[[Snapshot], None]] = []

    def subscribe(self, callback: Callable[[Snapshot], None]) -> None:
        self._subscribers.append(callback)

    def publish(self, snapshot: Snapshot) -> None:
        self.snapshots[snapshot.account_id] = snapshot
        for callback in self._subscribers:
            callback(snapshot)

    # The rest of EngineControl: nothing to poll, stop or apply.
    paused = False

    def seed(self, snapshots: Iterable[Snapshot]) -> None:
        pass

    async def refresh_now(self) -> None:
        pass

    async def kill_all(self, accounts: Iterable[str] | None = None) -> list[KillResult]:
        return []

    def pause(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def set_accounts(self, accounts: Iterable[Account]) -> None:
        pass

    def apply_settings(self, settings: Settings) -> None:
        pass

    async def test_connection(self, account: Account, api_key: str, management_key: str | None = None) -> Snapshot:
        raise NotImplementedError("the self-test engine polls nothing")


def run_self_test(app: QApplication) -> int:
    """Build the tray, panel, badge and notifier offscreen with fake data; exit 0 if all is well."""
    import qasync

    with tempfile.TemporaryDirectory(prefix="traywidget-selftest-") as tmp:
        engine = _StillEngine()
        controller = AppController(
            engine, bridge=InlineBridge(), config=Config(accounts=(SELF_TEST_ACCOUNT,)),
            config_store=ConfigStore(Path(tmp)),
            secrets=MemorySecretStore(),
        )
        engine.publish(Snapshot(
            account_id=SELF_TEST_ACCOUNT.id, provider=SELF_TEST_ACCOUNT.provider, label=SELF_TEST_ACCOUNT.label,
            state=State.OK, meters=(Meter(REQUESTS_HOUR, Unit.REQUESTS, limit=500, remaining=420),),
            fetched_at=utcnow(),
        ))
        spec = controller.tray.badge()
        if spec.text != "420":
            print(f"self-test FAILED: the badge shows {spec.text!r}, not '420'", file=sys.stderr)
            return 1
        for size in ICON_SIZES:
            image = render_badge(spec, size, 2.0)
            if image.isNull() or image.pixelColor(image.width() // 2, image.height() // 2).alpha() == 0:
                print(f"self-test FAILED: blank badge at {size}px", file=sys.stderr)
                return 1
        if not controller.tray.contextMenu().actions():
            print("self-test FAILED: empty tray menu", file=sys.stderr)
            return 1
        problem = _language_problem(controller)
        if problem:
            print(f"self-test FAILED: {problem}", file=sys.stderr)
            return 1
        loop = qasync.QEventLoop(app)
        try:
            loop.run_until_complete(asyncio.sleep(0.05))
        finally:
            loop.close()
        controller.panel.close()
    print(f"traywidget {__version__} self-test ok (platform {app.platformName()}, language {current_language()})")
    return 0


def _language_problem(controller: AppController) -> str | None:
    """In another language than English, both catalogs must have been found: ours and Qt's."""
    language = current_language()
    if language == ENGLISH:
        return None
    if controller.tray.action_panel.text() == "Show usage…":
        return f"the {language} catalog is missing: the menu is in English"
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
    if box.buttons()[0].text() == "Cancel":
        return f"Qt's {language} catalog is missing: its buttons are in English"
    return None
