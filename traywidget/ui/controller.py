"""Wires the engine to the views: snapshots in, commands (refresh, kill, pause, settings) out."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QRectF, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from traywidget.desktop.notifications import DesktopNotifications
from traywidget.engine.engine_control import EngineControl
from traywidget.gateway.kills import kill_everywhere
from traywidget.gateway.service import GatewayState
from traywidget.i18n import tr, tr_noop
from traywidget.model import HOLD_KILL, ConfigError, Hold, KillResult, Snapshot, utcnow
from traywidget.present.alerts import (
    AlertPolicy,
    config_alert,
    gateway_alert,
    gateway_notice_alert,
    kill_failed,
    kill_summary,
)
from traywidget.present.formatting import meter_title
from traywidget.present.hook_events import hook_event
from traywidget.present.pace import PaceWatch
from traywidget.present.text import held_sentence
from traywidget.providers import display_name, get_provider
from traywidget.store.config import Config, ConfigStore
from traywidget.store.history import HistoryStore
from traywidget.store.secrets import SecretStore
from traywidget.ui.bridge import Bridge

if TYPE_CHECKING:
    from traywidget.desktop.hooks import HookRunner
    from traywidget.gateway.service import GatewayService
    from traywidget.ui.settings import SettingsDialog
    from traywidget.ui.tray import TrayView

log = logging.getLogger(__name__)

NO_TRAY_MESSAGE = tr_noop(
    "No system tray was found on this desktop, so Traywidget runs as this window. "
    "Closing it quits. (On GNOME, install the AppIndicator extension for a tray icon.)"
)


class AppController(QObject):
    """Wires the engine to the views. Knows no files beyond the stores it is given."""

    gateway_applied = Signal(object)  # the GatewayState after each apply_gateway (Settings, the demo's hint)

    def __init__(
        self,
        engine: EngineControl,
        *,
        bridge: Bridge,
        config: Config,
        config_store: ConfigStore | None = None,
        secrets: SecretStore | None = None,
        history: HistoryStore | None = None,
        autostart: Callable[[bool], Any] | None = None,
        autostart_enabled: Callable[[], bool] | None = None,
        on_quit: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
        tray: TrayView | None = None,
        notifications: DesktopNotifications | None = None,
        gateway: GatewayService | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        from traywidget.ui.bus import SnapshotBus
        from traywidget.ui.notify import Notifier
        from traywidget.ui.panel import PanelWindow
        from traywidget.ui.tray import TrayView

        self.engine = engine  # lives on the engine's thread: every call goes through the bridge
        self.bridge = bridge
        self.config = config
        self.config_store = config_store
        self.secrets = secrets
        self.history = history  # read here (sparklines, pace); written on the engine's thread
        self.gateway = gateway
        self.autostart = autostart
        self.autostart_enabled = autostart_enabled
        self.on_quit = on_quit
        self.clock = clock
        self.settings_dialog: SettingsDialog | None = None
        self.no_tray = False
        # The user's alert hooks (attach_hooks), fed what passed the alert policy, as the notifications are.
        self.hooks: HookRunner | None = None
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
        bridge.send(engine.subscribe, self.bus.publish)

        self.tray.refresh_requested.connect(self.refresh)
        self.tray.kill_requested.connect(self.kill_all)
        self.tray.resume_requested.connect(self.resume_requests)
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
        except Exception:
            log.exception("alert policy failed")
            alerts = []
        self.notifier.notify_all(alerts)
        if alerts and self.hooks is not None:
            now = self.clock()
            self.hooks.send_all(hook_event(alert, snapshot, now) for alert in alerts)

    def attach_hooks(self, hooks: HookRunner) -> None:
        """Send every alert from now on to the user's hooks too."""
        hooks.set_hooks(self.config.settings.hooks)
        self.hooks = hooks

    def seed(self, snapshots: Iterable[Snapshot]) -> None:
        """Show cached snapshots at once; the engine marks them stale and publishes them."""
        self.bridge.send(self.engine.seed, list(snapshots))

    # ------------------------------------------------------------ commands
    def refresh(self) -> None:
        self.bridge.ask(self.engine.refresh_now, name="refresh")

    def kill_all(self) -> None:
        """The gateway's streams first (its accounts held first, as Settings say, so a tool's next request
        is refused), then the kill APIs: composed on the engine's thread, in one hop."""
        hold, minutes = self.config.settings.kill_hold_minutes
        gateway, engine = self.gateway, self.engine

        async def kill() -> tuple[list[KillResult], dict[str, int]]:  # on the engine's thread
            through_gateway: dict[str, int] = {}

            async def stop_through_gateway() -> Mapping[str, int] | None:
                assert gateway is not None
                stopped = await gateway.kill_all(hold, minutes)
                through_gateway.update(stopped or {})
                return stopped

            results = await kill_everywhere(stop_through_gateway if gateway is not None else None, engine.kill_all)
            return results, through_gateway

        now = self.clock()
        held = Hold(HOLD_KILL, now, None if minutes is None else now + timedelta(minutes=minutes)) if hold else None
        self.bridge.ask(kill, name="kill-all", on_done=lambda outcome, error: self._killed(outcome, error, held))

    def _killed(self, outcome: tuple[list[KillResult], dict[str, int]] | None, error: BaseException | None,
                held: Hold | None = None) -> None:
        if error is not None or outcome is None:  # said to the person who clicked, and logged
            log.error("kill all failed", exc_info=error)
            self.notifier.notify(kill_failed(str(error)), force=True)
            return
        results, through_gateway = outcome
        labels = {a.id: a.label for a in self.config.accounts}
        labels.update({s.account_id: s.label for s in self.tray.snapshots.values()})
        has_kill_api = {a.id: get_provider(a.provider).supports_kill for a in self.config.accounts}
        providers = {a.id: display_name(a.provider) for a in self.config.accounts}
        summary = kill_summary(results, labels, through_gateway, has_kill_api, providers)
        if held is not None and self.gateway is not None:  # what the click also did: said with the rest
            line = tr("{held} \"Resume requests\" in the tray menu ends it.").format(held=held_sentence(held))
            summary = replace(summary, body="\n".join(filter(None, (summary.body, line))))
        self.notifier.notify(summary, force=True)
        if self.hooks is not None:
            self.hooks.send(hook_event(summary, None, self.clock()))

    def resume_requests(self) -> None:
        """"Resume requests": every hold ends; the next request of each account goes through."""
        if self.gateway is not None:
            self.bridge.ask(self.gateway.resume, name="resume")

    # ------------------------------------------------------------ the local gateway
    def apply_gateway(self) -> None:
        """Run the local gateway as the settings say (or stop it); said at once if it cannot start."""
        if self.gateway is None:
            return
        gateway, s, accounts = self.gateway, self.config.settings, self.config.accounts
        self.bridge.ask(lambda: gateway.apply(s.gateway_enabled, s.gateway_port, accounts, s.metrics_enabled),
                        name="gateway", on_done=self._gateway_applied)

    def _gateway_applied(self, state: GatewayState | None, error: BaseException | None) -> None:
        if error is not None or state is None:
            state = GatewayState(problem=str(error))
        self.tray.set_gateway_running(state.running)
        if state.problem:
            message = tr("The local gateway did not start: {problem}").format(problem=state.problem)
            self.panel.add_notice(message)
            self.notifier.notify(gateway_alert(message), force=True)
        for notice in state.notices:
            message = tr("The local gateway runs, but {notice}").format(notice=notice)
            self.panel.add_notice(message)
            self.notifier.notify(gateway_notice_alert(message), force=True)
        self.gateway_applied.emit(state)

    def copy_base_url(self, account_id: str) -> None:
        url = self.gateway.url_for(account_id) if self.gateway is not None else None
        if url:
            QGuiApplication.clipboard().setText(url)

    def set_paused(self, paused: bool) -> None:
        self.bridge.send(self.engine.pause if paused else self.engine.resume)
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
    def open_settings(self) -> SettingsDialog:
        from traywidget.store.keyring_check import keyring_status
        from traywidget.store.secrets import KeyringSecretStore
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
            ask=self.bridge.ask,
            # Only the OS keyring is checked (the demo keeps its keys in memory).
            keyring_check=(
                (lambda: keyring_status(unlock=True)) if isinstance(self.secrets, KeyringSecretStore) else None
            ),
            autostart=self.autostart,
            autostart_enabled=self.autostart_enabled,
            pin_choices=pins,
            config=config,
            keys_in_memory=not isinstance(self.secrets, KeyringSecretStore),  # the demo
            gateway_token=self._gateway_token if self.gateway is not None else None,
            gateway_listening=(self.gateway.state.port if self.gateway is not None and self.gateway.state.running
                               else None),
        )
        dialog.saved.connect(self.apply_config)
        dialog.finished.connect(self._settings_closed)
        self.settings_dialog = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def _settings_closed(self, _result: int) -> None:
        self.settings_dialog = None

    def _gateway_token(self, rotate: bool) -> Awaitable[str]:
        """The gateway token (a new one with `rotate`): a coroutine for the engine's thread."""
        assert self.gateway is not None
        return self.gateway.rotate_token() if rotate else self.gateway.token()

    def add_account(self) -> Any:
        """"Add your first account" (the welcome) or "Add an account…" (the menu): Settings, the account dialog
        on top."""
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
        self.bridge.send(self.engine.apply_settings, s)
        self.bridge.send(self.engine.set_accounts, list(config.accounts))
        ids = [a.id for a in config.accounts]
        for gone in previous - set(ids):
            self.policy.forget(gone)
            self.pace.forget(gone)
            if self.history is not None:
                self.history.forget(gone)
        self.policy.set_thresholds(s.thresholds)
        self.notifier.enabled = s.notifications
        self.pace.enabled = s.pace_alerts
        if self.hooks is not None:
            self.hooks.set_hooks(s.hooks)
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

