"""The one startup path of the GUI.

    run_app(demo=False, self_test=False, argv=None) -> exit code

1. QT_API=pyside6 and PySide6 imported before qasync (qasync binds the first
   Qt it finds); QApplication named (notifications are titled after it),
   quitOnLastWindowClosed off (closing the panel must not quit a tray app).
2. Single instance per user: a QLocalServer; a second launch sends "show",
   the first shows its panel, the second exits 0.
3. A qasync.QEventLoop runs `_main`, which builds the views, shows the last
   cached snapshots at once (stale), starts the engine and waits for quit.
   Quit (menu, SIGINT/SIGTERM, session end via aboutToQuit) sets one asyncio
   event; then `_shutdown` runs on the same loop: engine.stop() (closes the
   HTTP client), cache saved, every task cancelled.
4. No tray on the desktop: said once (log + panel status) and the panel is
   shown as an ordinary window instead; closing it quits.

`AppController` wires engine ↔ views and is what tests build (with a fake
engine) through `build_tray_for_tests`.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import logging
import os
import signal
import socket
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Awaitable, Callable, Coroutine, Iterable

os.environ.setdefault("QT_API", "pyside6")

from PySide6.QtCore import QObject, QRectF, QSocketNotifier, QTimer, Signal  # noqa: E402
from PySide6.QtNetwork import QLocalServer, QLocalSocket  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from traywidget import APP_DISPLAY_NAME, APP_NAME, __version__  # noqa: E402
from traywidget.core.accounts import Config, ConfigError, ConfigStore  # noqa: E402
from traywidget.core.alerts import AlertPolicy, kill_summary  # noqa: E402
from traywidget.core.model import Snapshot, utcnow  # noqa: E402

log = logging.getLogger(__name__)

SELFTEST_ENV = "TRAYWIDGET_SELFTEST"
INSTANCE_ENV = "TRAYWIDGET_INSTANCE_NAME"
NO_TRAY_MESSAGE = (
    "No system tray was found on this desktop, so Traywidget runs as this window. "
    "Closing it quits. (On GNOME, install the AppIndicator extension for a tray icon.)"
)
CACHE_SAVE_INTERVAL_S = 300.0


# --------------------------------------------------------------------- tasks
class TaskRunner:
    """Owns every background task: keeps references (qasync drops them), logs failures, cancels all."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(
        self,
        awaitable: Awaitable[Any],
        name: str | None = None,
        on_done: Callable[[Any, BaseException | None], None] | None = None,
    ) -> asyncio.Task[Any]:
        loop = self._loop or asyncio.get_event_loop()
        task = loop.create_task(_as_coroutine(awaitable), name=name)
        self.tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self.tasks.discard(t)
            if t.cancelled():
                error: BaseException | None = asyncio.CancelledError()
                result = None
            else:
                error = t.exception()
                result = None if error else t.result()
                if error is not None:
                    log.error("background task %s failed", t.get_name(), exc_info=error)
            if on_done is not None:
                try:
                    on_done(result, error)
                except Exception:  # noqa: BLE001
                    log.exception("task callback failed")

        task.add_done_callback(done)
        return task

    def run_with_callback(
        self, awaitable: Awaitable[Any], on_done: Callable[[Any, BaseException | None], None]
    ) -> None:
        self.spawn(awaitable, on_done=on_done)

    async def cancel_all(self) -> None:
        tasks = [t for t in self.tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.tasks.clear()


async def _as_coroutine(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


# ------------------------------------------------------------ single instance
def instance_name(demo: bool = False) -> str:
    override = os.environ.get(INSTANCE_ENV)
    if override:
        return override
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    if demo:
        scope = "demo"
    else:
        from traywidget.core.paths import config_dir

        scope = hashlib.sha1(str(config_dir()).encode()).hexdigest()[:8]
    return f"{APP_NAME}-{user}-{scope}"


class SingleInstance(QObject):
    """The first launch listens; later launches send "show" and exit."""

    show_requested = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.server: QLocalServer | None = None
        self._connections: set[QLocalSocket] = set()

    def notify_running(self, timeout_ms: int = 500) -> bool:
        """True when another instance answered (and was told to show itself)."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(timeout_ms):
            return False
        socket.write(b"show\n")
        socket.flush()
        socket.waitForBytesWritten(timeout_ms)
        socket.disconnectFromServer()
        return True

    def claim(self) -> bool:
        """Become the running instance; False if another one is already running."""
        if self.notify_running():
            return False
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            # A stale socket from a crashed instance: nobody answered above, so remove it.
            QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                log.warning("single-instance server unavailable: %s", server.errorString())
                return True
        server.newConnection.connect(self._on_connection)
        self.server = server
        return True

    def _on_connection(self) -> None:
        assert self.server is not None
        while self.server.hasPendingConnections():
            conn = self.server.nextPendingConnection()
            if conn is None:
                break
            conn.setParent(self)
            self._connections.add(conn)
            conn.readyRead.connect(self._read_ready)
            if conn.bytesAvailable():
                self._read(conn)

    def _read_ready(self) -> None:
        conn = self.sender()
        if isinstance(conn, QLocalSocket):
            self._read(conn)

    def _read(self, conn: QLocalSocket) -> None:
        data = bytes(conn.readAll().data())
        if b"show" in data:
            self.show_requested.emit()

    def close(self) -> None:
        for conn in list(self._connections):
            conn.readyRead.disconnect(self._read_ready)
            conn.abort()
        self._connections.clear()
        if self.server is not None:
            self.server.close()
            self.server = None


# ---------------------------------------------------------------- controller
class AppController(QObject):
    """Wires the engine to the views. Knows no files beyond the stores it is given."""

    def __init__(
        self,
        engine: Any,
        *,
        config: Config,
        config_store: Any = None,
        secrets: Any = None,
        history: Any = None,
        cache: Any = None,
        runner: TaskRunner | None = None,
        autostart: Callable[[bool], Any] | None = None,
        autostart_enabled: Callable[[], bool] | None = None,
        on_quit: Callable[[], None] | None = None,
        clock: Callable[[], Any] = utcnow,
        tray: Any = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        from traywidget.ui.notify import Notifier
        from traywidget.ui.panel import PanelWindow
        from traywidget.ui.tray import SnapshotBus, TrayView

        self.engine = engine
        self.config = config
        self.config_store = config_store
        self.secrets = secrets
        self.history = history
        self.cache = cache
        self.runner = runner or TaskRunner()
        self.autostart = autostart
        self.autostart_enabled = autostart_enabled
        self.on_quit = on_quit
        self.clock = clock
        self.settings_dialog = None
        self.no_tray = False
        self._last_cache_save = time.monotonic()
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
        self.notifier = Notifier(self.tray.primary_icon, status_sink=self.panel.set_status,
                                 enabled=s.notifications, parent=self)
        self.policy = AlertPolicy(s.thresholds)

        self.bus.snapshot.connect(self.on_snapshot)
        engine.subscribe(self.bus.publish)

        self.tray.refresh_requested.connect(self.refresh)
        self.tray.kill_requested.connect(self.kill_all)
        self.tray.pause_toggled.connect(self.set_paused)
        self.tray.settings_requested.connect(self.open_settings)
        self.tray.quit_requested.connect(self.quit)
        self.tray.panel_requested.connect(self.show_panel)
        self.panel.refresh_requested.connect(self.refresh)
        self.panel.kill_requested.connect(self.kill_all)
        self.panel.settings_requested.connect(self.open_settings)
        self.panel.closed.connect(self._panel_closed)

        ids = [a.id for a in config.accounts]
        self.tray.set_accounts(ids)
        self.panel.set_accounts(ids)
        for warning in config.warnings:
            self.panel.set_status(warning)

    # ------------------------------------------------------------- data in
    def on_snapshot(self, snapshot: Snapshot) -> None:
        self.tray.update_snapshot(snapshot)
        self.panel.update_snapshot(snapshot)
        try:
            alerts = self.policy.update(snapshot, self.clock())
        except Exception:  # noqa: BLE001 - a policy bug must never stop the views
            log.exception("alert policy failed")
            alerts = []
        self.notifier.notify_all(alerts)
        if self.history is not None:
            try:
                self.history.record(snapshot)
            except Exception:  # noqa: BLE001
                log.exception("usage history failed")
        if self.cache is not None and time.monotonic() - self._last_cache_save > CACHE_SAVE_INTERVAL_S:
            self.save_cache()

    def seed(self, snapshots: Iterable[Snapshot]) -> None:
        """Show cached snapshots at once, marked stale."""
        stale = [s.with_changes(stale=True) for s in snapshots]
        if hasattr(self.engine, "seed"):
            self.engine.seed(stale)  # publishes through the bus
        else:
            for snapshot in stale:
                self.bus.publish(snapshot)

    def save_cache(self) -> None:
        self._last_cache_save = time.monotonic()
        if self.cache is None:
            return
        snapshots = [s for s in getattr(self.engine, "snapshots", {}).values() if not s.stale]
        if snapshots:
            self.cache.save(snapshots)

    # ------------------------------------------------------------ commands
    def refresh(self) -> None:
        self.runner.spawn(self.engine.refresh_now(), name="refresh")

    def kill_all(self) -> None:
        self.runner.spawn(self._kill_all(), name="kill-all")

    async def _kill_all(self) -> None:
        try:
            results = await self.engine.kill_all()
        except Exception as exc:  # noqa: BLE001
            log.exception("kill all failed")
            from traywidget.core.alerts import KILL_RESULT, Alert

            self.notifier.notify(Alert(KILL_RESULT, "", "Kill all streams failed", str(exc)), force=True)
            return
        labels = {a.id: a.label for a in self.config.accounts}
        labels.update({s.account_id: s.label for s in self.tray.snapshots.values()})
        self.notifier.notify(kill_summary(results, labels), force=True)

    def set_paused(self, paused: bool) -> None:
        if paused:
            self.engine.pause()
        else:
            self.engine.resume()
        self.tray.set_paused(paused)

    def show_panel(self) -> None:
        near = None
        try:
            geometry = self.tray.primary_icon().geometry()
            if geometry.isValid():
                near = QRectF(geometry)
        except RuntimeError:
            pass
        self.panel.present(near)

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
        from traywidget.ui.settings import SettingsDialog

        if self.settings_dialog is not None and self.settings_dialog.isVisible():
            self.settings_dialog.raise_()
            self.settings_dialog.activateWindow()
            return self.settings_dialog
        pins = []
        for snapshot in self.tray.ordered():
            for meter in snapshot.meters:
                pins.append((f"{snapshot.account_id}/{meter.name}", f"{snapshot.label}: {meter.title}"))
        try:
            config = self.config_store.load() if self.config_store is not None else self.config
        except ConfigError as exc:
            self.panel.set_status(str(exc))
            config = self.config
        dialog = SettingsDialog(
            self.config_store,
            self.secrets,
            tester=getattr(self.engine, "test_connection", None),
            spawn=self.runner.run_with_callback,
            autostart=self.autostart,
            autostart_enabled=self.autostart_enabled,
            pin_choices=pins,
            config=config,
        )
        dialog.saved.connect(self.apply_config)
        dialog.finished.connect(lambda _r: setattr(self, "settings_dialog", None))
        self.settings_dialog = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def apply_config(self, config: Config) -> None:
        previous = {a.id for a in self.config.accounts}
        self.config = config
        s = config.settings
        settings = getattr(self.engine, "settings", None)
        if settings is not None and hasattr(settings, "cadence"):
            try:
                self.engine.settings = replace(
                    settings,
                    thresholds=s.thresholds,
                    cadence=replace(settings.cadence, fast_s=s.fast_interval_s, full_s=s.full_interval_s),
                )
            except Exception:  # noqa: BLE001
                log.exception("could not apply engine settings")
        self.engine.set_accounts(list(config.accounts))
        ids = [a.id for a in config.accounts]
        for gone in previous - set(ids):
            self.policy.forget(gone)
            if self.history is not None:
                self.history.forget(gone)
        self.policy.set_thresholds(s.thresholds)
        self.notifier.enabled = s.notifications
        self.tray.set_accounts(ids)
        self.tray.set_options(thresholds=s.thresholds, pinned=s.pinned_meter, icon_per_account=s.icon_per_account)
        self.panel.set_accounts(ids)
        self.panel.set_thresholds(s.thresholds)
        if self.no_tray is False and self.tray._visible:
            self.tray.show()
        self.refresh()

    # ---------------------------------------------------------------- show
    def show(self) -> bool:
        """Show the tray, or the panel as a window when there is no tray. True if a tray is shown."""
        if self.tray.show():
            return True
        self.no_tray = True
        log.warning("no system tray available: showing the panel as a window")
        self.panel.set_status(NO_TRAY_MESSAGE)
        self.panel.quit_on_close = True
        self.panel.show()
        return False


def build_tray_for_tests(
    engine: Any,
    *,
    config: Config | None = None,
    config_store: Any = None,
    secrets: Any = None,
    history: Any = None,
    runner: Any = None,
    clock: Callable[[], Any] = utcnow,
    on_quit: Callable[[], None] | None = None,
    autostart: Callable[[bool], Any] | None = None,
    autostart_enabled: Callable[[], bool] | None = None,
) -> AppController:
    """An AppController with every view built and no event loop started."""
    if config is None:
        config = config_store.load() if config_store is not None else Config()
    return AppController(
        engine, config=config, config_store=config_store, secrets=secrets, history=history,
        runner=runner, clock=clock, on_quit=on_quit, autostart=autostart,
        autostart_enabled=autostart_enabled,
    )


# ------------------------------------------------------------------ startup
def _make_application(argv: list[str]) -> QApplication:
    app = QApplication.instance() or QApplication(argv)
    # Qt sends applicationName as the notification's app_name (what
    # notification servers show as the sender), so it is the display name.
    app.setApplicationName(APP_DISPLAY_NAME)
    app.setApplicationDisplayName(APP_DISPLAY_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_NAME)
    app.setQuitOnLastWindowClosed(False)
    from traywidget.ui.badge import NO_DATA, badge_icon

    app.setWindowIcon(badge_icon(NO_DATA, template=False))
    return app  # type: ignore[return-value]


def _autostart_callables() -> tuple[Callable[[bool], Any] | None, Callable[[], bool] | None]:
    try:
        from traywidget import autostart
    except Exception:  # noqa: BLE001 - packaging helper's module may be missing
        return None, None

    def set_enabled(on: bool) -> None:
        autostart.enable() if on else autostart.disable()

    return set_enabled, autostart.is_enabled


class _SignalWakeup:
    """Lets SIGINT/SIGTERM reach Python while Qt's loop sleeps.

    Python runs signal handlers only between bytecodes, and Qt's loop runs no
    Python while idle. The C-level handler writes to a socket that Qt watches,
    which wakes the loop only when a signal really arrives (a periodic no-op
    timer would cost five wake-ups a second forever).
    """

    def __init__(self) -> None:
        self._timer: QTimer | None = None
        self._notifier = None
        try:
            self._read, self._write = socket.socketpair()
            for sock in (self._read, self._write):
                sock.setblocking(False)
            signal.set_wakeup_fd(self._write.fileno())
            self._notifier = QSocketNotifier(self._read.fileno(), QSocketNotifier.Type.Read)
            self._notifier.activated.connect(self._drain)
        except (ValueError, OSError):  # not the main thread, or no socketpair: poll instead
            self._timer = QTimer()
            self._timer.timeout.connect(lambda: None)
            self._timer.start(200)

    def _drain(self) -> None:
        try:
            self._read.recv(512)
        except OSError:
            pass

    def close(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            return
        signal.set_wakeup_fd(-1)
        if self._notifier is not None:
            self._notifier.setEnabled(False)
        self._read.close()
        self._write.close()


def run_app(demo: bool = False, self_test: bool = False, argv: list[str] | None = None) -> int:
    argv = list(sys.argv[:1] if argv is None else argv)
    if "--demo" in argv:
        demo = True
    self_test = self_test or "--self-test" in argv or os.environ.get(SELFTEST_ENV) == "1"
    if self_test:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # argv[0] names the X11 WM_CLASS instance: "traywidget", not "__main__.py".
    qt_argv = [APP_NAME] + [a for a in argv[1:] if a not in ("--demo", "--self-test")]
    app = _make_application(qt_argv)
    if self_test:
        return _self_test(app)

    import qasync

    instance = SingleInstance(instance_name(demo))
    if not instance.claim():
        log.info("traywidget is already running: asked it to show its panel")
        return 0

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    quit_event = asyncio.Event()
    runner = TaskRunner(loop)
    state: dict[str, Any] = {}

    def request_quit() -> None:
        loop.call_soon_threadsafe(quit_event.set)

    app.aboutToQuit.connect(quit_event.set)
    previous_handlers = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            previous_handlers[signum] = signal.signal(signum, lambda *_: request_quit())
        except (ValueError, OSError):  # not the main thread / unsupported
            pass
    wakeup = _SignalWakeup()

    try:
        try:
            loop.run_until_complete(_main(demo, runner, instance, quit_event, request_quit, state))
        except RuntimeError as exc:
            # app.quit() from elsewhere stops Qt's loop before _main returns: shut down below anyway.
            log.debug("event loop stopped early: %s", exc)
        loop.run_until_complete(_shutdown(runner, state))
    finally:
        wakeup.close()
        for signum, handler in previous_handlers.items():
            signal.signal(signum, handler)
        instance.close()
        loop.close()
        asyncio.set_event_loop(None)
    return int(state.get("exit_code", 0))


async def _main(
    demo: bool,
    runner: TaskRunner,
    instance: SingleInstance,
    quit_event: asyncio.Event,
    request_quit: Callable[[], None],
    state: dict[str, Any],
) -> None:
    from traywidget.core.cache import SnapshotCache
    from traywidget.core.paths import cache_dir
    from traywidget.ui.tray import TrayView

    if demo:
        from traywidget.demo import start_demo

        session = start_demo()
        state["demo"] = session
        root = Path(tempfile.mkdtemp(prefix="traywidget-demo-"))
        state["demo_dir"] = root
        config_store = ConfigStore(root / "config")
        config = Config(accounts=tuple(session.accounts))
        config = replace(config, settings=replace(config.settings, fast_interval_s=10.0, full_interval_s=30.0))
        config_store.save(config)
        secrets: Any = session.secrets
        data_dir = root / "cache"
        autostart, autostart_enabled = None, None
        log.info("demo mode: simulator on loopback, config in %s (no keyring, no user files)", root)
    else:
        from traywidget.core.secrets import KeyringSecretStore

        config_store = ConfigStore()
        try:
            config = config_store.load()
        except ConfigError as exc:
            log.error("%s", exc)
            config = Config(warnings=(str(exc),))
        secrets = KeyringSecretStore()
        data_dir = cache_dir()
        autostart, autostart_enabled = _autostart_callables()

    # The icon with the last known values comes first: a person glances at
    # the tray right after login. Only then the engine, HTTP client, keyring,
    # history and panel are imported and built.
    cache = SnapshotCache(data_dir)
    cached = [snap.with_changes(stale=True) for snap in cache.load()]
    s = config.settings
    early_tray = TrayView(thresholds=s.thresholds, pinned=s.pinned_meter, icon_per_account=s.icon_per_account)
    early_tray.set_accounts([a.id for a in config.accounts])
    early_tray.set_snapshots([snap for snap in cached if config.account(snap.account_id)])
    early_tray.show()
    await asyncio.sleep(0.05)  # let Qt dock and paint the icon before the heavy imports

    from traywidget.core.engine import Cadence, Engine, EngineSettings
    from traywidget.core.history import HistoryStore

    engine = Engine(
        list(config.accounts),
        secrets,
        settings=EngineSettings(
            thresholds=s.thresholds,
            cadence=Cadence(fast_s=s.fast_interval_s, full_s=s.full_interval_s),
        ),
    )
    state["engine"] = engine
    try:
        history = HistoryStore(data_dir)
    except Exception:  # noqa: BLE001 - history is a nicety
        log.exception("usage history unavailable")
        history = None
    state["history"] = history
    state["cache"] = cache

    controller = AppController(
        engine, config=config, config_store=config_store, secrets=secrets, history=history, cache=cache,
        runner=runner, autostart=autostart, autostart_enabled=autostart_enabled, on_quit=request_quit,
        tray=early_tray,
    )
    state["controller"] = controller
    instance.show_requested.connect(controller.show_panel)
    controller.seed(cached)
    controller.show()
    await engine.start()
    await quit_event.wait()


async def _shutdown(runner: TaskRunner, state: dict[str, Any]) -> None:
    controller: AppController | None = state.get("controller")
    engine = state.get("engine")
    if engine is not None:
        try:
            await asyncio.wait_for(engine.stop(), timeout=5)
        except Exception:  # noqa: BLE001
            log.exception("engine did not stop cleanly")
    if controller is not None:
        try:
            controller.save_cache()
        except Exception:  # noqa: BLE001
            log.exception("could not save the snapshot cache")
        controller.tray.hide()
        controller.panel.hide()
    await runner.cancel_all()
    history = state.get("history")
    if history is not None:
        history.close()
    session = state.get("demo")
    if session is not None:
        try:
            session.stop()
        except Exception:  # noqa: BLE001
            log.exception("simulator did not stop cleanly")
        import shutil

        shutil.rmtree(state.get("demo_dir", ""), ignore_errors=True)


# ----------------------------------------------------------------- self-test
def _self_test(app: QApplication) -> int:
    """Build the tray, panel, badge and notifier offscreen with fake data; exit 0 if all is well."""
    import qasync

    from traywidget.core.model import REQUESTS_HOUR, Meter, State, Unit
    from traywidget.core.secrets import MemorySecretStore
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
    return 0


if __name__ == "__main__":  # python -m traywidget.app [--demo] [--self-test]
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(run_app(argv=sys.argv))
