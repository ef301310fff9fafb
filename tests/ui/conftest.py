"""UI tests run offscreen: set before anything imports Qt."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QT_API", "pyside6")

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from traywidget.engine.engine import EngineSettings
from traywidget.model import (
    CREDITS,
    REQUESTS_DAY,
    REQUESTS_HOUR,
    Account,
    ErrorInfo,
    KillResult,
    Meter,
    Snapshot,
    State,
    Unit,
)

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


def make_snapshot(
    account_id: str = "main",
    *,
    label: str = "Main",
    provider: str = "routing.run",
    state: State = State.OK,
    hour: tuple[float | None, float | None] | None = (420, 500),
    day: tuple[float | None, float | None] | None = None,
    credits: tuple[float | None, float | None] | None = None,
    stale: bool = False,
    error: ErrorInfo | None = None,
    plan: str | None = "Premium",
    fetched_at: datetime | None = NOW,
) -> Snapshot:
    meters = []
    if hour is not None:
        meters.append(Meter(REQUESTS_HOUR, Unit.REQUESTS, remaining=hour[0], limit=hour[1],
                            resets_at=NOW + timedelta(minutes=23)))
    if day is not None:
        meters.append(Meter(REQUESTS_DAY, Unit.REQUESTS, remaining=day[0], limit=day[1],
                            resets_at=NOW + timedelta(hours=5)))
    if credits is not None:
        meters.append(Meter(CREDITS, Unit.USD, remaining=credits[0], limit=credits[1]))
    return Snapshot(account_id=account_id, provider=provider, label=label, state=state, plan=plan,
                    meters=tuple(meters), stale=stale, error=error, fetched_at=fetched_at,
                    supports_kill=provider == "routing.run")


class FakeEngine:
    """The Engine interface the views use, recording calls synchronously."""

    def __init__(self, accounts: list[Account] | None = None) -> None:
        self.calls: list[Any] = []
        self.subscribers: list[Callable[[Snapshot], None]] = []
        self.snapshots: dict[str, Snapshot] = {}
        self.accounts = list(accounts or [])
        self.paused = False
        self.kill_results = [KillResult("main", True, 3), KillResult("or", False)]
        self.test_result: Snapshot | Exception = make_snapshot("new", label="New")
        self.settings = EngineSettings()

    def apply_settings(self, settings) -> None:
        self.calls.append("apply_settings")
        self.settings = self.settings.with_user_settings(settings)

    def subscribe(self, callback: Callable[[Snapshot], None]) -> None:
        self.subscribers.append(callback)

    def publish(self, snapshot: Snapshot) -> None:
        self.snapshots[snapshot.account_id] = snapshot
        for callback in self.subscribers:
            callback(snapshot)

    def seed(self, snapshots) -> None:
        for s in snapshots:
            self.publish(s.with_changes(stale=True))

    async def refresh_now(self) -> None:
        self.calls.append("refresh_now")

    async def kill_all(self, accounts=None) -> list[KillResult]:
        self.calls.append("kill_all")
        if isinstance(self.kill_results, Exception):
            raise self.kill_results
        return self.kill_results

    def pause(self) -> None:
        self.calls.append("pause")
        self.paused = True

    def resume(self) -> None:
        self.calls.append("resume")
        self.paused = False

    def set_accounts(self, accounts) -> None:
        self.calls.append(("set_accounts", [a.id for a in accounts]))
        self.accounts = list(accounts)

    async def test_connection(self, account, api_key, management_key=None) -> Snapshot:
        self.calls.append(("test_connection", account.id, bool(api_key), bool(management_key)))
        if isinstance(self.test_result, Exception):
            raise self.test_result
        return self.test_result


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def bridge():
    """Widget tests' bridge: the fake engine lives on the GUI thread, and asked work runs at once."""
    from traywidget.ui.bridge import InlineBridge

    return InlineBridge()


@pytest.fixture
def engine_bridge():
    """A real engine thread and the bridge to it, as in the app; stopped after the test."""
    from traywidget.engine.loop_thread import LoopThread
    from traywidget.ui.bridge import EngineBridge

    thread = LoopThread()
    thread.start()
    bridge = EngineBridge(thread)
    yield bridge
    bridge.cancel_all()
    thread.stop()


def make_controller(engine, *, config=None, config_store=None, bridge=None, **parts):
    """An AppController with every view built and no event loop started."""
    from traywidget.store.config import Config
    from traywidget.ui.bridge import InlineBridge
    from traywidget.ui.controller import AppController

    if config is None:
        config = config_store.load() if config_store is not None else Config()
    return AppController(engine, bridge=bridge or InlineBridge(), config=config, config_store=config_store,
                         **parts)


def clipped_nowhere(panel) -> Counter:
    """Assert every card sits whole in the visible area and every visible label shows its text whole
    (word-wrapped ones have the height they need); count the status dots ("dot") and the labels that are
    never shortened with "…" ("whole": figures, percentages, states) that were checked."""
    from PySide6.QtCore import QPoint, QRect
    from PySide6.QtWidgets import QLabel, QWidget

    from traywidget.ui.panel_widgets import ElidedLabel, StatusDot

    checked: Counter = Counter()
    viewport = panel.cards_area.viewport()
    for card in panel.cards.values():
        # the card is as wide as the visible area, not cut off on the right
        assert viewport.rect().contains(QRect(card.mapTo(viewport, QPoint(0, 0)), card.size()))
        for widget in card.findChildren(QWidget):
            if not widget.isVisible():
                continue
            assert card.rect().contains(QRect(widget.mapTo(card, QPoint(0, 0)), widget.size())), widget
            if isinstance(widget, StatusDot):
                checked["dot"] += 1
            if not isinstance(widget, QLabel) or not widget.text():
                continue
            room = widget.contentsRect()
            if widget.wordWrap():
                assert widget.heightForWidth(room.width()) <= room.height(), widget.text()
            else:
                assert widget.fontMetrics().horizontalAdvance(widget.text()) <= room.width(), widget.text()
            if not isinstance(widget, ElidedLabel):
                checked["whole"] += 1
    return checked
