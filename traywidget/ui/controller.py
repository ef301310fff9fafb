"""Wires the engine to the views: snapshots in, commands (refresh, kill, pause, settings) out."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Iterable

from PySide6.QtCore import QObject, QRectF
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from traywidget.core.alerts import (
    AlertPolicy,
    config_alert,
    gateway_alert,
    kill_failed,
    kill_summary,
)
from traywidget.core.config import Config
from traywidget.core.control import EngineControl
from traywidget.core.formatting import meter_title
from traywidget.core.history import HistoryStore
from traywidget.core.notifications import DesktopNotifications
from traywidget.core.pace import PaceWatch
from traywidget.core.tasks import TaskRunner
from traywidget.gateway.kills import kill_everywhere
from traywidget.i18n import tr, tr_noop
from traywidget.model import ConfigError, Snapshot, utcnow

if TYPE_CHECKING:
    from traywidget.gateway.service import GatewayService

log = logging.getLogger(__name__)

NO_TRAY_MESSAGE = tr_noop(
    "No system tray was found on this desktop, so Traywidget runs as this window. "
    "Closing it quits. (On GNOME, install the AppIndicator extension for a tray icon.)"
)


class AppController(QObject):
    """Wires the engine to the views. Knows no files beyond the stores it is given."""

    def __init__(
        self,
        engine: EngineControl,
        *,
        config: Config,
        config_store: Any = None,
        secrets: Any = None,
        history: HistoryStore | None = None,
        runner: TaskRunner | None = None,
        autostart: Callable[[bool], Any] | None = None,
        autostart_enabled: Callable[[], bool] | None = None,
        on_quit: Callable[[], None] | None = None,
        clock: Callable[[], Any] = utcnow,
        tray: Any = None,
        notifications: DesktopNotifications | None = None,
        gateway: GatewayService | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        from traywidget.ui.bus import SnapshotBus
        from traywidget.ui.notify import Notifier
        from traywidget.ui.panel import PanelWindow
        from traywidget.ui.tray import TrayView

        self.engine = engine
        self.config = config
        self.config_store = config_store
        self.secrets = secrets
        self.history = history  # read here (sparklines, pace); written on the engine's thread
        self.gateway = gateway
        self.runner = runner or TaskRunner()
        self.autostart = autostart
        self.autostart_enabled = autostart_enabled
        self.on_quit = on_quit
        self.clock = clock
        self.settings_dialog = None
        self.no_tray = False
        s = config.settings

        self.bus = SnapshotBus(self)
        # A tray shown early (with cached values, before the engine was even
        # imported) is adopted; otherwise one is built here.
        self.tray = tray or TrayView(
            thresholds=s.thresholds, pinned=s.pinned_meter, icon_per_account=s.icon_per_account,
            clock=clock,
        )
        self.tray.setParent(self)
        self.panel = PanelWindow(
            thresholds=s.thresholds,
            history_source=history.series if history is not None else None,
            clock=clock,
        )
        self.notifier = Notifier(self.tray.primary_icon, desktop=notifications, status_sink=self.panel.set_status,
                                 enabled=s.notifications, parent=self)
        self.policy = AlertPolicy(s.thresholds)
        self.pace = PaceWatch(history.series if history is not None else None, enabled=s.pace_alerts)

        self.bus.snapshot.connect(self.on_snapshot)
        engine.subscribe(self.bus.publish)

        self.tray.refresh_requested.connect(self.refresh)
        self.tray.kill_requested.connect(self.kill_all)
        self.tray.pause_toggled.connect(self.set_paused)
        self.tray.settings_requested.connect(self.open_settings)
        self.tray.add_account_requested.connect(self.add_account)
        self.tray.quit_requested.connect(self.quit)
        self.tray.panel_requested.connect(self.show_panel)
        self.tray.icon_clicked.connect(self.toggle_panel)
        self.tray.copy_base_url_requested.connect(self.copy_base_url)
        self.panel.refresh_requested.connect(self.refresh)
        self.panel.kill_requested.connect(self.kill_all)
        self.panel.settings_requested.connect(self.open_settings)
        self.panel.add_account_requested.connect(self.add_account)
        self.panel.closed.connect(self._panel_closed)

        ids = [a.id for a in config.accounts]
        self.tray.set_accounts(ids)
        self.panel.set_accounts(ids)
        for warning in config.warnings:
            self.report_config_problem(warning)

    # ------------------------------------------------------------- data in
    def on_snapshot(self, snapshot: Snapshot) -> None:
        self.tray.update_snapshot(snapshot)
        self.panel.update_snapshot(snapshot)
        try:
            alerts = self.policy.update(snapshot, self.clock()) + self.pace.update(snapshot, self.clock())
        except Exception:  # noqa: BLE001 - a policy bug must never stop the views
            log.exception("alert policy failed")
            alerts = []
        self.notifier.notify_all(alerts)

    def seed(self, snapshots: Iterable[Snapshot]) -> None:
        """Show cached snapshots at once; the engine marks them stale and publishes them."""
        self.engine.seed(snapshots)

    # ------------------------------------------------------------ commands
    def refresh(self) -> None:
        self.runner.spawn(self.engine.refresh_now(), name="refresh")

    def kill_all(self) -> None:
        self.runner.spawn(self._kill_all(), name="kill-all")

    async def _kill_all(self) -> None:
        try:
            if self.gateway is not None:  # the gateway's held streams first, then the kill APIs
                results = await kill_everywhere(self.gateway.kill_all, self.engine.kill_all)
            else:
                results = await self.engine.kill_all()
        except Exception as exc:  # noqa: BLE001 - said to the person who clicked, and logged
            log.exception("kill all failed")
            self.notifier.notify(kill_failed(str(exc)), force=True)
            return
        labels = {a.id: a.label for a in self.config.accounts}
        labels.update({s.account_id: s.label for s in self.tray.snapshots.values()})
        self.notifier.notify(kill_summary(results, labels), force=True)

    # ------------------------------------------------------------ the local gateway
    def apply_gateway(self) -> None:
        """Run the local gateway as the settings say (or stop it); said at once if it cannot start."""
        if self.gateway is not None:
            self.runner.spawn(self._apply_gateway(), name="gateway")

    async def _apply_gateway(self) -> None:
        s = self.config.settings
        state = await self.gateway.apply(s.gateway_enabled, s.gateway_port, self.config.accounts)
        self.tray.set_gateway_running(state.running)
        if state.problem:
            message = tr("The local gateway did not start: {problem}").format(problem=state.problem)
            self.panel.add_notice(message)
            self.notifier.notify(gateway_alert(message), force=True)

    def copy_base_url(self, account_id: str) -> None:
        url = self.gateway.url_for(account_id) if self.gateway is not None else None
        if url:
            QGuiApplication.clipboard().setText(url)

    async def copy_gateway_token(self, rotate: bool = False) -> str:
        """The gateway token (a new one with `rotate`), to the clipboard; returned for the settings dialog."""
        token = await (self.gateway.rotate_token() if rotate else self.gateway.token())
        QGuiApplication.clipboard().setText(token)
        return token

    def set_paused(self, paused: bool) -> None:
        if paused:
            self.engine.pause()
        else:
            self.engine.resume()
        self.tray.set_paused(paused)

    def _icon_rect(self) -> QRectF | None:
        geometry = self.tray.primary_icon().geometry()
        return QRectF(geometry) if geometry.isValid() else None

    def show_panel(self) -> None:
        self.panel.present(self._icon_rect())

    def toggle_panel(self) -> None:
        """A click on the tray icon: the panel opens, or closes when it is open."""
        self.panel.toggle(self._icon_rect())

    def report_config_problem(self, message: str) -> None:
        """A settings file that could not be read: at the top of the panel and as a notification."""
        self.panel.add_notice(message)
        self.notifier.notify(config_alert(message))

    def _panel_closed(self) -> None:
        if self.no_tray:
            self.quit()

    def quit(self) -> None:
        if self.on_quit is not None:
            self.on_quit()
        else:
            QApplication.quit()

    # ------------------------------------------------------------ settings
    def open_settings(self) -> Any:
        from traywidget.core.secrets import KeyringSecretStore, keyring_status
        from traywidget.ui.settings import SettingsDialog

        if self.settings_dialog is not None and self.settings_dialog.isVisible():
            self.settings_dialog.raise_()
            self.settings_dialog.activateWindow()
            return self.settings_dialog
        pins = []
        for snapshot in self.tray.ordered():
            for meter in snapshot.meters:
                pins.append((f"{snapshot.account_id}/{meter.name}",
                             tr("{account}: {meter}").format(account=snapshot.label, meter=meter_title(meter))))
        try:
            config = self.config_store.load() if self.config_store is not None else self.config
        except ConfigError as exc:
            self.report_config_problem(str(exc))
            config = self.config
        dialog = SettingsDialog(
            self.config_store,
            self.secrets,
            tester=self.engine.test_connection,
            spawn=self.runner.spawn,
            # Only the OS keyring is checked (the demo keeps its keys in memory).
            keyring_check=(
                (lambda: keyring_status(unlock=True)) if isinstance(self.secrets, KeyringSecretStore) else None
            ),
            autostart=self.autostart,
            autostart_enabled=self.autostart_enabled,
            pin_choices=pins,
            config=config,
            keys_in_memory=not isinstance(self.secrets, KeyringSecretStore),  # the demo
            gateway_token=self.copy_gateway_token if self.gateway is not None else None,
            gateway_listening=(self.gateway.state.port if self.gateway is not None and self.gateway.state.running
                               else None),
        )
        dialog.saved.connect(self.apply_config)
        dialog.finished.connect(lambda _r: setattr(self, "settings_dialog", None))
        self.settings_dialog = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def add_account(self) -> Any:
        """"Add your first account" (the welcome) or "Add an account…" (the menu): Settings, the account dialog on top."""
        return self.open_settings().add_account()

    def apply_config(self, config: Config) -> None:
        previous = {a.id for a in self.config.accounts}
        language_changed = config.settings.language != self.config.settings.language
        self.config = config
        s = config.settings
        if language_changed:
            from traywidget.ui.language import speak

            speak(s.language)
            self.tray.retranslate()
            self.panel.retranslate()
        self.engine.apply_settings(s)
        self.engine.set_accounts(list(config.accounts))
        ids = [a.id for a in config.accounts]
        for gone in previous - set(ids):
            self.policy.forget(gone)
            self.pace.forget(gone)
            if self.history is not None:
                self.history.forget(gone)
        self.policy.set_thresholds(s.thresholds)
        self.notifier.enabled = s.notifications
        self.pace.enabled = s.pace_alerts
        self.tray.set_accounts(ids)
        self.tray.set_options(thresholds=s.thresholds, pinned=s.pinned_meter, icon_per_account=s.icon_per_account)
        self.panel.set_accounts(ids)
        self.panel.set_thresholds(s.thresholds)  # new per-account icons show themselves (TrayView._sync_icons)
        self.apply_gateway()
        self.refresh()

    # ---------------------------------------------------------------- show
    def show(self) -> bool:
        """Show the tray, or the panel as a window when there is no tray. True if a tray is shown.

        With no account yet the panel opens by itself on its welcome.
        """
        if self.tray.show():
            if not self.config.accounts:
                self.show_panel()
            return True
        self.no_tray = True
        log.warning("no system tray available: showing the panel as a window")
        self.panel.set_status(tr(NO_TRAY_MESSAGE))
        self.panel.main_window = True
        self.panel.show()
        return False

