"""The tray icon(s) and their menu. A view: fed snapshots, emits requests.

The tray never reads files or the network. The app connects
`SnapshotBus.snapshot` to `TrayView.update_snapshot` and the request signals
to the engine. The dynamic part of the menu (one section per account) is
rebuilt on `aboutToShow` (Vorta's pattern) and whenever data changes while
the menu is closed, so `contextMenu().actions()` always reflects the data.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Callable, Iterable

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QFont, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from traywidget import APP_DISPLAY_NAME
from traywidget.model import Snapshot, Thresholds, utcnow
from traywidget.ui import text as T
from traywidget.ui.badge import BadgeSpec, badge_icon, badge_spec

REDRAW_COALESCE_MS = 50
MENU_TEXT_MAX_AGE_S = 1.0

log = logging.getLogger(__name__)


class SnapshotBus(QObject):
    """The one seam between the engine (plain callbacks) and the Qt views."""

    snapshot = Signal(object)
    accounts_changed = Signal(object)  # list[str] of account ids, in display order

    def publish(self, snapshot: Snapshot) -> None:
        self.snapshot.emit(snapshot)


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


class TrayView(QObject):
    refresh_requested = Signal()
    kill_requested = Signal()
    pause_toggled = Signal(bool)
    settings_requested = Signal()
    quit_requested = Signal()
    panel_requested = Signal()

    def __init__(
        self,
        *,
        thresholds: Thresholds = Thresholds(),
        pinned: str | None = None,
        icon_per_account: bool = False,
        clock: Callable[[], datetime] = utcnow,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._clock = clock
        self.thresholds = thresholds
        self.pinned = pinned
        self.icon_per_account = icon_per_account
        self.snapshots: dict[str, Snapshot] = {}
        self._order: list[str] | None = None
        self._specs: dict[str | None, BadgeSpec] = {}
        self._visible = False
        self._menu_dirty = True
        self._menu_built_at = 0.0
        # Snapshots arrive in bursts (a refresh of many accounts): redraw the
        # badge, tooltip and menu once per burst, not once per snapshot.
        self._coalesce = QTimer(self)
        self._coalesce.setSingleShot(True)
        self._coalesce.setInterval(REDRAW_COALESCE_MS)
        self._coalesce.timeout.connect(self._refresh)

        self._menu = QMenu()
        self._menu.setToolTipsVisible(True)
        self._menu.aboutToShow.connect(self._on_about_to_show)

        self.action_refresh = QAction("Refresh now", self)
        self.action_refresh.triggered.connect(self.refresh_requested)
        self.action_kill = QAction("Kill all streams", self)
        self.action_kill.setToolTip("Stop every active stream on every account whose provider can")
        self.action_kill.triggered.connect(self.kill_requested)
        self.action_pause = QAction("Pause polling", self)
        self.action_pause.setCheckable(True)
        self.action_pause.toggled.connect(self.pause_toggled)
        self.action_panel = QAction("Show usage…", self)
        self.action_panel.triggered.connect(self.panel_requested)
        self.action_settings = QAction("Settings…", self)
        self.action_settings.triggered.connect(self.settings_requested)
        self.action_quit = QAction(f"Quit {APP_DISPLAY_NAME}", self)
        self.action_quit.triggered.connect(self.quit_requested)

        # key None: the combined icon; otherwise one icon per account id.
        self.icons: dict[str | None, QSystemTrayIcon] = {}
        self._sync_icons()
        self._rebuild_menu()

    # ------------------------------------------------------------- public
    def contextMenu(self) -> QMenu:  # noqa: N802 - mirrors QSystemTrayIcon
        self._flush()
        if self._menu_dirty and not self._menu.isVisible():
            self._rebuild_menu()
        return self._menu

    def primary_icon(self) -> QSystemTrayIcon:
        return next(iter(self.icons.values()))

    def show(self) -> bool:
        """Show the icon(s); False when the desktop has no tray."""
        self._visible = True
        if not tray_available():
            return False
        for icon in self.icons.values():
            icon.show()
        return True

    def hide(self) -> None:
        self._visible = False
        for icon in self.icons.values():
            icon.hide()

    def badge(self, account_id: str | None = None) -> BadgeSpec:
        self._flush()
        return self._specs.get(account_id, self._specs.get(None, BadgeSpec("…", T.NONE)))

    @Slot(object)
    def update_snapshot(self, snapshot: Snapshot) -> None:
        self.snapshots[snapshot.account_id] = snapshot
        if not self._coalesce.isActive():
            self._coalesce.start()

    def _flush(self) -> None:
        """Apply a pending redraw now (a menu about to open must show the latest values)."""
        if self._coalesce.isActive():
            self._coalesce.stop()
            self._refresh()

    def set_snapshots(self, snapshots: Iterable[Snapshot]) -> None:
        for snapshot in snapshots:
            self.snapshots[snapshot.account_id] = snapshot
        self._refresh()

    def set_accounts(self, account_ids: Iterable[str]) -> None:
        """The configured accounts in order; forgets snapshots of removed ones."""
        self._order = list(account_ids)
        for account_id in list(self.snapshots):
            if account_id not in self._order:
                del self.snapshots[account_id]
        self._sync_icons()
        self._refresh()

    def set_options(
        self,
        *,
        thresholds: Thresholds | None = None,
        pinned: str | None | type[Ellipsis] = ...,
        icon_per_account: bool | None = None,
    ) -> None:
        if thresholds is not None:
            self.thresholds = thresholds
        if pinned is not ...:
            self.pinned = pinned  # type: ignore[assignment]
        if icon_per_account is not None and icon_per_account != self.icon_per_account:
            self.icon_per_account = icon_per_account
            self._sync_icons()
        self._refresh()

    def set_paused(self, paused: bool) -> None:
        if self.action_pause.isChecked() != paused:
            self.action_pause.blockSignals(True)
            self.action_pause.setChecked(paused)
            self.action_pause.blockSignals(False)
        self._refresh()

    def ordered(self) -> list[Snapshot]:
        if self._order is None:
            return list(self.snapshots.values())
        return [self.snapshots[i] for i in self._order if i in self.snapshots]

    # ------------------------------------------------------------ icons
    def _sync_icons(self) -> None:
        wanted: list[str | None]
        if self.icon_per_account and self._order:
            wanted = list(self._order)
        elif self.icon_per_account and self.snapshots:
            wanted = list(self.snapshots)
        else:
            wanted = [None]
        for key in list(self.icons):
            if key not in wanted:
                icon = self.icons.pop(key)
                icon.hide()
                icon.deleteLater()
        for key in wanted:
            if key not in self.icons:
                icon = QSystemTrayIcon(self)
                icon.setContextMenu(self._menu)
                icon.activated.connect(self._on_activated)
                icon.setIcon(badge_icon(BadgeSpec("…", T.NONE)))
                icon.setToolTip(APP_DISPLAY_NAME)
                self.icons[key] = icon
                if self._visible and tray_available():
                    icon.show()

    def _refresh(self) -> None:
        now = self._clock()
        snapshots = self.ordered()
        for key, icon in self.icons.items():
            subset = snapshots if key is None else [s for s in snapshots if s.account_id == key]
            spec = badge_spec(subset, self.pinned if key is None else None, self.thresholds)
            if self.action_pause.isChecked() and spec.level not in (T.NONE,):
                spec = BadgeSpec(spec.text, T.STALE, spec.rate_limited, spec.attention, spec.tooltip_hint)
            if self._specs.get(key) != spec:
                self._specs[key] = spec
                icon.setIcon(badge_icon(spec))
            tip = T.tooltip_text(subset, now, APP_DISPLAY_NAME)
            if self.action_pause.isChecked():
                tip += "\nPolling paused"
            icon.setToolTip(tip)
        # The menu is rebuilt when it is about to open, not on every change.
        self._menu_dirty = True

    # ------------------------------------------------------------- menu
    def _on_about_to_show(self) -> None:
        self._flush()
        # Relative times ("updated 5 s ago") age even when no data changed.
        if self._menu_dirty or time.monotonic() - self._menu_built_at > MENU_TEXT_MAX_AGE_S:
            self._rebuild_menu()

    def _rebuild_menu(self) -> None:
        self._menu_dirty = False
        self._menu_built_at = time.monotonic()
        menu = self._menu
        menu.clear()  # deletes the dynamic actions it owns; the fixed ones belong to self
        now = self._clock()
        snapshots = self.ordered()
        if not snapshots:
            info = menu.addAction("No accounts yet — add one in Settings…")
            info.setEnabled(False)
        for snapshot in snapshots:
            # Info lines stay enabled (readable, not greyed out); clicking one opens the panel.
            header = menu.addAction(T.menu_header(snapshot))
            font = QFont(header.font())
            font.setBold(True)
            header.setFont(font)
            header.setData(("account", snapshot.account_id))
            header.triggered.connect(self.panel_requested)
            for meter in snapshot.meters:
                line = menu.addAction("    " + T.meter_line(meter, now))
                line.setData(("meter", snapshot.account_id, meter.name))
                line.triggered.connect(self.panel_requested)
            err = T.error_text(snapshot)
            if err and not snapshot.state.is_fine:
                line = menu.addAction("    Last error: " + err)
                line.setData(("error", snapshot.account_id))
                line.triggered.connect(self.panel_requested)
            menu.addSeparator()
        updated = T.latest_fetch_text(snapshots, now)
        if self.action_pause.isChecked():
            updated = "Polling paused" + (f" · {updated.lower()}" if updated else "")
        if updated:
            menu.addAction(updated).setEnabled(False)
        if not snapshots:
            menu.addSeparator()
        menu.addAction(self.action_panel)
        menu.addAction(self.action_refresh)
        menu.addAction(self.action_kill)
        menu.addAction(self.action_pause)
        menu.addSeparator()
        menu.addAction(self.action_settings)
        menu.addAction(self.action_quit)

    # ------------------------------------------------------------ clicks
    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.panel_requested.emit()
        elif reason is QSystemTrayIcon.ActivationReason.MiddleClick:
            self.refresh_requested.emit()

    def icon_image_for_tests(self, key: str | None = None, size: int = 32):
        self._flush()
        icon: QIcon = self.icons[key].icon()
        return icon.pixmap(size, size).toImage()
