"""What the GUI runs between start-up and quit, as one typed object.

    session = Session.show_cached(demo)     # the tray with the last cached values, at once
    await session.run(quit_event, ...)      # engine, gateway, controller; until quit
    await session.shutdown()                # gateway, engine, cache, history, demo: in that order

The tray with the last cached values comes first, before asyncio, the engine,
the HTTP client and the keyring are imported: a person glances at the tray
right after login. Everything built later is a field set by `run`, so
`shutdown` closes exactly what was opened, whatever point start-up reached.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from traywidget.model import ConfigError
from traywidget.store.cache import SnapshotCache
from traywidget.store.config import Config, ConfigStore
from traywidget.store.secrets import SecretStore

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

    from traywidget.demo import DemoSession
    from traywidget.desktop.hooks import HookRunner
    from traywidget.desktop.notifications import DesktopNotifications
    from traywidget.engine.engine import Engine
    from traywidget.engine.loop_thread import LoopThread
    from traywidget.gateway.service import GatewayHints, GatewayService, GatewayState
    from traywidget.model import Snapshot
    from traywidget.store.history import HistoryStore
    from traywidget.store.recorder import SnapshotRecorder
    from traywidget.ui.bridge import EngineBridge
    from traywidget.ui.controller import AppController
    from traywidget.ui.single_instance import SingleInstance
    from traywidget.ui.tray import TrayView

log = logging.getLogger(__name__)
STOP_TIMEOUT_S = 5.0  # each of the gateway and the engine; a hung one is logged, never waited on longer


@dataclass
class Session:
    config: Config
    config_store: ConfigStore
    secrets: SecretStore
    data_dir: Path
    cache: SnapshotCache
    cached: list[Snapshot]
    tray: TrayView
    demo: DemoSession | None = None
    demo_dir: Path | None = None
    # set by run(), in this order
    thread: LoopThread | None = None
    engine: Engine | None = None
    bridge: EngineBridge | None = None
    history: HistoryStore | None = None
    recorder: SnapshotRecorder | None = None
    gateway: GatewayService | None = None
    notifications: DesktopNotifications | None = None
    controller: AppController | None = None
    files: ExitStack = field(default_factory=ExitStack)

    # ------------------------------------------------------------------ start
    @classmethod
    def show_cached(cls, demo: bool) -> Session:
        """Read the config and the cache, and show the tray with the last known values."""
        from traywidget.store.paths import cache_dir
        from traywidget.ui.tray import TrayView

        demo_session = demo_dir = None
        if demo:
            from traywidget.demo import start_demo

            demo_session = start_demo()
            demo_dir = Path(tempfile.mkdtemp(prefix="traywidget-demo-"))
            config_store = ConfigStore(demo_dir / "config")
            config = Config(accounts=tuple(demo_session.accounts))
            # The demo runs its gateway on a free port, with the demo's fixed token: try a tool against it.
            config = replace(config, settings=replace(config.settings, fast_interval_s=10.0, full_interval_s=30.0,
                                                      gateway_enabled=True, gateway_port=0))
            config_store.save(config)
            secrets: SecretStore = demo_session.secrets
            data_dir = demo_dir / "cache"
            log.info("demo mode: simulator on loopback, config in %s (no keyring, no user files)", demo_dir)
        else:
            from traywidget.store.secrets import KeyringSecretStore

            config_store = ConfigStore()
            try:
                config = config_store.load()
            except ConfigError as exc:
                log.error("%s", exc)
                config = Config(warnings=(str(exc),))
            secrets = KeyringSecretStore()
            data_dir = cache_dir()

        cache = SnapshotCache(data_dir)
        cached = cache.load()  # marked stale until a poll confirms them
        s = config.settings
        tray = TrayView(thresholds=s.thresholds, pinned=s.pinned_meter, icon_per_account=s.icon_per_account)
        tray.set_accounts([a.id for a in config.accounts])
        tray.set_snapshots([snap for snap in cached if config.account(snap.account_id)])
        tray.show()
        return cls(config, config_store, secrets, data_dir, cache, cached, tray, demo_session, demo_dir)

    async def run(self, quit_event: asyncio.Event, request_quit: Callable[[], None],
                  instance: SingleInstance) -> None:
        """Build the engine (on a loop thread of its own), the gateway and the views; poll until quit."""
        import asyncio

        await asyncio.sleep(0.05)  # let Qt finish docking and painting the icon before the heavy imports
        _set_window_icon()
        from traywidget.engine.engine import Engine, EngineSettings
        from traywidget.engine.loop_thread import LoopThread
        from traywidget.gateway.service import GatewayService
        from traywidget.store.history import HistoryStore
        from traywidget.store.recorder import SnapshotRecorder
        from traywidget.ui.bridge import EngineBridge
        from traywidget.ui.config_follower import ConfigFollower
        from traywidget.ui.controller import AppController

        config = self.config
        # The engine (and everything it does per response: parsing, scheduling, recording) runs on a
        # loop thread of its own; the GUI thread only asks it through the bridge and receives its
        # snapshots, so it never stalls on network work.
        self.thread = thread = LoopThread()
        thread.start()
        self.engine = engine = Engine(list(config.accounts), self.secrets,
                                      settings=EngineSettings().with_user_settings(config.settings))
        self.bridge = bridge = EngineBridge(thread)
        try:
            self.history = HistoryStore(self.data_dir)
        except Exception:  # a nicety: the app runs without sparklines and pace
            log.exception("usage history unavailable")
        self.recorder = recorder = SnapshotRecorder(self.history, self.cache, latest=lambda: engine.snapshots.values())
        bridge.send(engine.subscribe, recorder.on_snapshot)
        if self.demo is not None and self.history is not None:
            bridge.send(engine.subscribe, _demo_backfill(self.history))
        # The local gateway lives on the engine's thread too (what it learns goes straight to the
        # engine); it listens only when the settings say so.
        self.gateway = GatewayService(engine, self.secrets,
                                      hints=_demo_hints(config) if self.demo is not None else None,
                                      private_dir=self.demo_dir)
        autostart, autostart_enabled = (None, None) if self.demo is not None else _autostart_callables()
        self.controller = controller = AppController(
            engine, bridge=bridge, config=config, config_store=self.config_store, secrets=self.secrets,
            history=self.history, autostart=autostart, autostart_enabled=autostart_enabled,
            on_quit=request_quit, tray=self.tray, notifications=self._desktop_notifications(),
            gateway=self.gateway,
        )
        # Accounts added or removed with the command line (or in an editor) while the app runs.
        ConfigFollower(self.config_store, lambda: controller.config, controller.apply_config,
                       controller.report_config_problem, keys_changed=controller.refresh, parent=controller)
        instance.show_requested.connect(controller.show_panel)
        controller.seed(self.cached)
        controller.show()
        bridge.ask(engine.start, name="engine-start")
        controller.attach_hooks(tray_hook_runner(thread.loop, self.secrets))
        if self.demo is not None:
            controller.gateway_applied.connect(_say_where_the_demo_gateway_listens(config))
        controller.apply_gateway()
        await quit_event.wait()

    def _desktop_notifications(self) -> DesktopNotifications | None:
        """On Linux, notifications go to the desktop's notification server over D-Bus, with the app's icon
        (a real file for as long as the app runs); elsewhere the tray's own messages are the path."""
        if not sys.platform.startswith("linux"):
            return None
        from traywidget.desktop import assets
        from traywidget.desktop.notifications import DesktopNotifications

        icon = self.files.enter_context(assets.icon_path(64))
        self.notifications = DesktopNotifications(icon=str(icon))
        return self.notifications

    # ------------------------------------------------------------------ quit
    async def shutdown(self) -> None:
        """Close what run() opened: streams end cleanly for their clients before the engine's loop stops."""
        import asyncio

        bridge = self.bridge
        if bridge is not None:
            for name, stop in (("the local gateway", self.gateway.stop if self.gateway else None),
                               ("the engine", self.engine.stop if self.engine else None)):
                if stop is None:
                    continue
                try:
                    await asyncio.wait_for(bridge.call(stop), timeout=STOP_TIMEOUT_S)
                except Exception:
                    log.exception("%s did not stop cleanly", name)
            bridge.cancel_all()
        if self.thread is not None:
            self.thread.stop()
        if self.recorder is not None:  # the engine's thread has ended: its snapshots are still
            try:
                self.recorder.save()
            except Exception:
                log.exception("could not save the snapshot cache")
        if self.controller is not None:
            self.controller.panel.hide()
        self.tray.hide()
        if self.notifications is not None:
            self.notifications.close()
        self.files.close()
        if self.history is not None:
            self.history.close()
        if self.demo is not None:
            from traywidget.demo import withdraw_demo

            withdraw_demo()
            try:
                self.demo.stop()
            except Exception:
                log.exception("simulator did not stop cleanly")
        if self.demo_dir is not None:
            import shutil

            shutil.rmtree(self.demo_dir, ignore_errors=True)


def _set_window_icon() -> None:
    """The app's own icon for its windows (panel, settings), from the shipped PNGs."""
    from PySide6.QtGui import QIcon, QPixmap
    from PySide6.QtWidgets import QApplication

    from traywidget.desktop import assets

    icon = QIcon()
    for png in assets.icon_pngs().values():
        pixmap = QPixmap()
        pixmap.loadFromData(png)
        icon.addPixmap(pixmap)
    QApplication.setWindowIcon(icon)


def tray_hook_runner(loop: asyncio.AbstractEventLoop, secrets: SecretStore) -> HookRunner:
    """The alert hooks run on the engine's thread, never awaited by it; they defer to a running headless
    gateway, which sends them itself (docs/metrics-and-hooks.md: who sends hooks)."""
    from traywidget.desktop.hooks import HookRunner
    from traywidget.gateway.addresses import headless_gateway_pid

    return HookRunner(loop, secrets, may_send=lambda: headless_gateway_pid() is None)


def _autostart_callables() -> tuple[Callable[[bool], None], Callable[[], bool]]:
    from traywidget.desktop.autostart import login_item

    item = login_item()

    def set_enabled(on: bool) -> None:
        if on:
            item.enable()
        else:
            item.disable()

    return set_enabled, item.is_enabled


def _demo_hints(config: Config) -> GatewayHints:
    """The demo gateway's 404 and 401 speak of the demo: `traywidget accounts list` and `traywidget gateway
    token` are about the user's accounts and token, not these."""
    return {
        "accounts_hint": (f"one of the demo's account ids ({', '.join(a.id for a in config.accounts)}; "
                          "`traywidget --demo gateway env ACCOUNT_ID` prints a tool's settings)"),
        "token_help": ("Send the demo's gateway token as `Authorization: Bearer <token>` or `X-API-Key: <token>`; "
                       "print it with `traywidget --demo gateway token`."),
    }


def _say_where_the_demo_gateway_listens(config: Config) -> Callable[[GatewayState], None]:
    """The demo's gateway takes a free port: say which on stderr, with its token, for a first try; and leave
    where it is for the command line's --demo."""
    from traywidget.demo import DEMO_GATEWAY_TOKEN, announce_demo
    from traywidget.i18n import tr

    accounts = list(config.accounts)
    account_ids = [a.id for a in accounts]
    said: set[int] = set()

    def say(state: GatewayState) -> None:
        if not state.running or not state.port:
            announce_demo(accounts, None)  # it did not start (the panel and a notification say why): no gateway
            return
        if state.port in said:
            return
        said.add(state.port)
        announce_demo(accounts, state.port)  # `traywidget --demo status|kill|gateway env` reach it
        base = f"http://127.0.0.1:{state.port}"
        lines = (tr("traywidget demo: its local gateway listens on {base}/ACCOUNT_ID (accounts: {ids}) and takes the "
                    "token {token}. Try:").format(base=base, ids=", ".join(account_ids), token=DEMO_GATEWAY_TOKEN),
                 f"  curl -H 'Authorization: Bearer {DEMO_GATEWAY_TOKEN}' -H 'Content-Type: application/json' "
                 f"""-d '{{"model": "m", "messages": [{{"role": "user", "content": "hi"}}]}}' """
                 f"{base}/{account_ids[0]}/chat/completions",
                 tr("From another terminal, `traywidget --demo status`, `--demo kill` and `--demo gateway env "
                    "ACCOUNT_ID` reach this demo."))
        # One write: the engine thread logs to the same stderr, and print() writes each piece on its own,
        # so a log line could land between the sentence and the command to copy.
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()

    return say


def _demo_backfill(history: HistoryStore) -> Callable[[Snapshot], None]:
    """Give each demo account a simulated past day on its first snapshot (sparklines at once).
    Called on the engine's thread, like the recorder."""
    import time

    from traywidget.demo import demo_history_rows

    done: set[str] = set()

    def on_snapshot(snapshot: Snapshot) -> None:
        if snapshot.stale or snapshot.account_id in done or not snapshot.meters:
            return
        done.add(snapshot.account_id)
        history.add_samples(demo_history_rows(snapshot, time.time()))

    return on_snapshot
