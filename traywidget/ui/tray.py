"""The tray icon(s) and their menu. A view: fed snapshots, emits requests.

The tray never reads files or the network. The controller connects
`SnapshotBus.snapshot` (ui/bus.py) to `TrayView.update_snapshot` and the request signals
to the engine. The menu is rebuilt when it is about to open (Vorta's pattern),
so `contextMenu().actions()` always reflects the data:

    Show usage…
    ─────
    Kill all streams
    ─────
    Main — 345 requests left this hour · OK          ▸ details
    OpenRouter — $4.20 left on the key · Rate limited ▸ details
    ─────
    Refresh now
    Pause polling
    ─────
    Settings…
    Quit Traywidget

Every figure in the menu is also in the tooltip and the panel: some tray hosts
never refresh a menu's text. With no accounts the menu offers "Add an
account…" and nothing that would have nothing to act on.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from types import EllipsisType

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from traywidget import APP_DISPLAY_NAME
from traywidget.i18n import tr
from traywidget.model import Snapshot, Thresholds, utcnow
from traywidget.present.headline import HeadlinePolicy
from traywidget.present.text import account_details, menu_account_line, tooltip_text
from traywidget.ui.badge import (
    NO_ACCOUNTS,
    NO_DATA,
    BadgeSpec,
    account_band,
    badge_icon,
    badge_spec,
    band_swatch,
)

REDRAW_COALESCE_MS = 50
MENU_TEXT_MAX_AGE_S = 1.0


SNI_WATCHER = "org.kde.StatusNotifierWatcher"


def icons_dock_newest_first() -> bool:
    """Whether the tray host puts each new icon before the ones already there (so icons are made in reverse
    to read in the accounts' order, left to right).

    What each host does, and what traywidget can do about it:
    - XEmbed trays (trayer, tested under Xvfb; stalonetray, the X11 notification areas): the icon docked last
      goes first. Qt uses XEmbed when no StatusNotifierWatcher is on the session bus.
    - macOS menu bar: the status item made last goes leftmost.
    - StatusNotifierItem hosts (Plasma, waybar, the GNOME AppIndicator extension): items in the order they
      registered, unless the host sorts them itself (Plasma sorts by category and lets the user arrange) —
      that, traywidget cannot control.
    - Windows: icons first go to the overflow area, and the user arranges them.
    """
    if sys.platform == "darwin":
        return True
    if sys.platform == "win32":
        return False
    from PySide6.QtDBus import QDBusConnection

    bus = QDBusConnection.sessionBus()
    return not (bus.isConnected() and bus.interface().isServiceRegistered(SNI_WATCHER).value())


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


class TrayView(QObject):
    refresh_requested = Signal()
    kill_requested = Signal()
    resume_requested = Signal()  # let held accounts' requests through the gateway again
    pause_toggled = Signal(bool)
    settings_requested = Signal()
    add_account_requested = Signal()
    quit_requested = Signal()
    panel_requested = Signal()
    icon_clicked = Signal()  # a left click on an icon: the panel opens, or closes when open
    copy_base_url_requested = Signal(str)  # an account id: its local gateway address, to the clipboard

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
        self._newest_first: bool | None = None  # asked when the first per-account icons are made
        self._specs: dict[str | None, BadgeSpec] = {}
        # One headline policy per icon: each holds its meter steadily (present/headline.py).
        self._headlines: dict[str | None, HeadlinePolicy] = {}
        self._visible = False
        self._menu_dirty = True
        self._menu_built_at = 0.0
        self._submenus: dict[str, QMenu] = {}
        self._menu_shape: tuple | None = None  # (has accounts, account order, gateway on) of the built menu
        self.gateway_running = False
        # Snapshots arrive in bursts (a refresh of many accounts): redraw the
        # badge, tooltip and menu once per burst, not once per snapshot.
        self._coalesce = QTimer(self)
        self._coalesce.setSingleShot(True)
        self._coalesce.setInterval(REDRAW_COALESCE_MS)
        self._coalesce.timeout.connect(self._refresh)

        self._menu = QMenu()
        self._menu.setToolTipsVisible(True)
        self._menu.aboutToShow.connect(self._on_about_to_show)

        self.action_panel = QAction(self)
        self.action_panel.triggered.connect(self.panel_requested)
        self.action_kill = QAction(self)
        self.action_kill.triggered.connect(self.kill_requested)
        self.action_resume = QAction(self)
        self.action_resume.triggered.connect(self.resume_requested)
        self.action_refresh = QAction(self)
        self.action_refresh.triggered.connect(self.refresh_requested)
        self.action_pause = QAction(self)
        self.action_pause.setCheckable(True)
        self.action_pause.toggled.connect(self.pause_toggled)
        self.action_add = QAction(self)
        self.action_add.triggered.connect(self.add_account_requested)
        self.action_settings = QAction(self)
        self.action_settings.triggered.connect(self.settings_requested)
        self.action_quit = QAction(self)
        self.action_quit.triggered.connect(self.quit_requested)
        self._name_actions()

        # key None: the combined icon; otherwise one icon per account id, in the accounts' order.
        self.icons: dict[str | None, QSystemTrayIcon] = {}
        self._sync_icons()
        self._rebuild_menu()

    def _name_actions(self) -> None:
        self.action_panel.setText(tr("Show usage…"))
        self.action_kill.setText(tr("Kill all streams"))
        self.action_kill.setToolTip(tr("Stop every active stream on every account whose provider can"))
        self.action_resume.setText(tr("Resume requests"))
        self.action_resume.setToolTip(tr("Let your tools' requests through the gateway again"))
        self.action_refresh.setText(tr("Refresh now"))
        self.action_pause.setText(tr("Pause polling"))
        self.action_add.setText(tr("Add an account…"))
        self.action_settings.setText(tr("Settings…"))
        self.action_quit.setText(tr("Quit {app}").format(app=APP_DISPLAY_NAME))

    # ------------------------------------------------------------- public
    def retranslate(self) -> None:
        """Say everything again in the language now spoken (Settings changed it)."""
        self._name_actions()
        self._menu_shape = None  # build the menu anew: its fixed words change too
        self._refresh()

    def contextMenu(self) -> QMenu:
        self._flush()
        if self._menu_dirty and not self._menu.isVisible():
            self._rebuild_menu()
        return self._menu

    def primary_icon(self) -> QSystemTrayIcon:
        """The combined icon, or the first account's (not the one made first: see icons_dock_newest_first)."""
        first = next((key for key in self._order or () if key in self.icons), None)
        return self.icons[first] if first is not None else next(iter(self.icons.values()))

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
        """What the icon (the combined one, or `account_id`'s) shows now."""
        self._flush()
        return self._specs.get(account_id, self._specs.get(None, NO_DATA))

    @Slot(object)
    def update_snapshot(self, snapshot: Snapshot) -> None:
        self.snapshots[snapshot.account_id] = snapshot
        if not self._coalesce.isActive():
            self._coalesce.start()

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
        pinned: str | None | EllipsisType = ...,
        icon_per_account: bool | None = None,
    ) -> None:
        if thresholds is not None:
            self.thresholds = thresholds
        if not isinstance(pinned, EllipsisType):
            self.pinned = pinned
        if icon_per_account is not None and icon_per_account != self.icon_per_account:
            self.icon_per_account = icon_per_account
            self._sync_icons()
        self._refresh()

    def set_gateway_running(self, running: bool) -> None:
        """Whether the local gateway runs (the account submenus then offer its addresses)."""
        if running != self.gateway_running:
            self.gateway_running = running
            self._menu_dirty = True

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

    def has_accounts(self) -> bool:
        return bool(self._order) if self._order is not None else bool(self.snapshots)

    def _flush(self) -> None:
        """Apply a pending redraw now (a menu about to open must show the latest values)."""
        if self._coalesce.isActive():
            self._coalesce.stop()
            self._refresh()

    # ------------------------------------------------------------ icons
    def _sync_icons(self) -> None:
        wanted: list[str | None]
        if self.icon_per_account and self._order:
            wanted = list(self._order)
        elif self.icon_per_account and self.snapshots:
            wanted = list(self.snapshots)
        else:
            wanted = [None]
        if len(wanted) > 1:
            if self._newest_first is None:
                self._newest_first = icons_dock_newest_first()
            if self._newest_first:
                wanted.reverse()  # the host puts the newest first: made last to first, they read first to last
        # Tray hosts place icons in the order they appear: from the first
        # difference on (in the order they are made), icons are recreated so they follow the accounts list.
        current = list(self.icons)
        keep = 0
        while keep < min(len(current), len(wanted)) and current[keep] == wanted[keep]:
            keep += 1
        for key in current[keep:]:
            icon = self.icons.pop(key)
            icon.hide()
            icon.deleteLater()
            self._specs.pop(key, None)
            self._headlines.pop(key, None)
        for key in wanted[keep:]:
            icon = QSystemTrayIcon(self)
            icon.setContextMenu(self._menu)
            icon.activated.connect(self._on_activated)
            icon.setIcon(badge_icon(NO_DATA))
            icon.setToolTip(APP_DISPLAY_NAME)
            self.icons[key] = icon
            if self._visible and tray_available():
                icon.show()

    def _spec_for(self, key: str | None, subset: list[Snapshot], paused: bool) -> tuple[BadgeSpec, str]:
        now = self._clock()
        if key is None and not self.has_accounts():
            return NO_ACCOUNTS, tr("Traywidget: no accounts yet. Right-click the icon to add one.")
        if not subset:
            return NO_DATA, tr("Traywidget: waiting for the first figures")
        policy = self._headlines.setdefault(key, HeadlinePolicy())
        headline = policy.choose(subset, self.pinned)
        band = self._band(key) if key is not None else ""
        spec = badge_spec(subset, headline, self.thresholds, paused=paused, band=band)
        return spec, tooltip_text(subset, headline, now, paused=paused)

    def _band(self, account_id: str) -> str:
        """The account's band colour: by its place in the accounts' order."""
        order = self._order if self._order is not None else list(self.snapshots)
        return account_band(order.index(account_id)) if account_id in order else ""

    def _refresh(self) -> None:
        snapshots = self.ordered()
        paused = self.action_pause.isChecked()
        for key, icon in self.icons.items():
            subset = snapshots if key is None else [s for s in snapshots if s.account_id == key]
            spec, tip = self._spec_for(key, subset, paused)
            if self._specs.get(key) != spec:
                self._specs[key] = spec
                icon.setIcon(badge_icon(spec))
            icon.setToolTip(tip)
        # The menu is rebuilt when it is about to open, not on every change.
        self._menu_dirty = True

    # ------------------------------------------------------------- menu
    def _on_about_to_show(self) -> None:
        self._flush()
        # Relative times ("fetched 5 s ago") age even when no data changed.
        if self._menu_dirty or time.monotonic() - self._menu_built_at > MENU_TEXT_MAX_AGE_S:
            self._rebuild_menu()

    def _rebuild_menu(self) -> None:
        self._menu_dirty = False
        self._menu_built_at = time.monotonic()
        ordered = self.ordered()
        held = any(s.hold is not None for s in ordered)
        shape = (self.has_accounts(), tuple(s.account_id for s in ordered), self.gateway_running, held,
                 self.icon_per_account)
        if shape == self._menu_shape:
            # The same accounts in the same order: only their texts changed. Updating the menus in
            # place costs a tenth of building 100 submenus again (measured by bench responsiveness).
            now = self._clock()
            for snapshot in ordered:
                self._fill_account_menu(self._submenus[snapshot.account_id], snapshot, now)
            return
        self._menu_shape = shape
        menu = self._menu
        menu.clear()  # deletes the dynamic actions it owns; the fixed ones belong to self
        for submenu in self._submenus.values():
            submenu.deleteLater()
        self._submenus.clear()
        if not self.has_accounts():
            menu.addAction(self.action_add)
            menu.addSeparator()
            menu.addAction(self.action_settings)
            menu.addAction(self.action_quit)
            return
        now = self._clock()
        menu.addAction(self.action_panel)
        menu.addSeparator()
        menu.addAction(self.action_kill)
        if held:
            menu.addAction(self.action_resume)
        menu.addSeparator()
        for snapshot in ordered:
            submenu = QMenu(menu)
            if self.icon_per_account:  # the account's band colour beside its name: which icon is which
                submenu.setIcon(band_swatch(self._band(snapshot.account_id)))
            self._fill_account_menu(submenu, snapshot, now)
            self._submenus[snapshot.account_id] = submenu
            entry = menu.addMenu(submenu)
            entry.setData(("account", snapshot.account_id))
        menu.addSeparator()
        menu.addAction(self.action_refresh)
        menu.addAction(self.action_pause)
        menu.addSeparator()
        menu.addAction(self.action_settings)
        menu.addAction(self.action_quit)

    def _fill_account_menu(self, submenu: QMenu, snapshot: Snapshot, now: datetime) -> None:
        """One account's line and its details (and, with the gateway on, its address to copy)."""
        title = menu_account_line(snapshot)
        if submenu.title() != title:
            submenu.setTitle(title)
        lines = account_details(snapshot, now)
        details = [a for a in submenu.actions() if a.data() == ("account", snapshot.account_id)]
        if len(details) == len(lines):
            for action, line in zip(details, lines):
                if action.text() != line:
                    action.setText(line)
            return
        submenu.clear()
        for line in lines:
            # Readable (not greyed out); a click opens the panel with everything.
            detail = submenu.addAction(line)
            detail.setData(("account", snapshot.account_id))
            detail.triggered.connect(self.panel_requested)
        if self.gateway_running:
            submenu.addSeparator()
            copy = submenu.addAction(tr("Copy base URL for your tools"))
            copy.setToolTip(tr("Its address on the local gateway: tools that use it are seen and can be stopped"))
            copy.setData(("gateway", snapshot.account_id))
            copy.triggered.connect(partial(self.copy_base_url_requested.emit, snapshot.account_id))

    # ------------------------------------------------------------ clicks
    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        # A double click arrives as a Trigger first: answering both would open and shut the panel.
        if reason is QSystemTrayIcon.ActivationReason.Trigger:
            self.icon_clicked.emit()
        elif reason is QSystemTrayIcon.ActivationReason.MiddleClick:
            self.refresh_requested.emit()
