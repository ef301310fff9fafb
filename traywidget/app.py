"""The one startup path of the GUI.

    run_app(demo=False, self_test=False) -> exit code

1. QT_API=pyside6 set before qasync is imported (qasync binds the first
   Qt it finds); QApplication named (notifications are titled after it),
   quitOnLastWindowClosed off (closing the panel must not quit a tray app).
2. Single instance per user (ui/single_instance.py): a second launch sends
   "show", the first shows its panel, the second exits 0.
3. The tray with the last cached values is shown first, before asyncio,
   the engine, the HTTP client or the keyring are imported; Qt's requests
   go out at once, so the tray host docks the icon while the rest loads.
4. A qasync.QEventLoop runs `_main`: the engine (on a loop thread of its own,
   core/engine_thread.py), history, recorder and the controller
   (ui/controller.py) are built and polling starts. Quit (menu,
   SIGINT/SIGTERM, session end via aboutToQuit) sets one asyncio event; then
   `_shutdown` runs: the engine stops (closing the HTTP client and its
   thread), the cache is saved, every task cancelled.
5. No tray on the desktop: said once (log + panel status) and the panel is
   shown as an ordinary window instead; closing it quits.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication

from traywidget import APP_DISPLAY_NAME, APP_NAME, __version__
from traywidget.core.config import Config, ConfigStore
from traywidget.model import ConfigError
from traywidget.ui.pyside_imports import skip_feature_scan
from traywidget.ui.single_instance import SingleInstance, instance_name

if TYPE_CHECKING:
    import asyncio

    from traywidget.core.tasks import TaskRunner
    from traywidget.ui.controller import AppController

log = logging.getLogger(__name__)


def _make_application(argv: list[str]) -> QApplication:
    app = QApplication.instance() or QApplication(argv)
    # Qt sends applicationName as the notification's app_name (what
    # notification servers show as the sender), so it is the display name.
    app.setApplicationName(APP_DISPLAY_NAME)
    app.setApplicationDisplayName(APP_DISPLAY_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_NAME)
    app.setQuitOnLastWindowClosed(False)
    return app  # type: ignore[return-value]


def _set_window_icon(app: QApplication) -> None:
    """The app's own icon for its windows (panel, settings), from the shipped PNGs."""
    from PySide6.QtGui import QIcon, QPixmap

    from traywidget.core import assets

    icon = QIcon()
    for png in assets.icon_pngs().values():
        pixmap = QPixmap()
        pixmap.loadFromData(png)
        icon.addPixmap(pixmap)
    app.setWindowIcon(icon)


def _autostart_callables() -> tuple[Callable[[bool], Any], Callable[[], bool]]:
    from traywidget.core.autostart import login_item

    item = login_item()

    def set_enabled(on: bool) -> None:
        item.enable() if on else item.disable()

    return set_enabled, item.is_enabled


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


def run_app(demo: bool = False, self_test: bool = False) -> int:
    # qasync binds the first Qt binding it finds: make it PySide6 before it is imported.
    os.environ.setdefault("QT_API", "pyside6")
    if self_test:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # argv[0] names the X11 WM_CLASS instance: "traywidget", not "__main__.py".
    app = _make_application([APP_NAME])
    skip_feature_scan()
    from traywidget.ui.language import speak

    speak(ConfigStore().language())
    if self_test:
        from traywidget.ui.selftest import run_self_test

        return run_self_test(app)

    instance = SingleInstance(instance_name(demo))
    if not instance.claim():
        log.info("traywidget is already running: asked it to show its panel")
        return 0

    state: dict[str, Any] = {}
    # The icon with the last known values comes first, before asyncio, the engine, the HTTP
    # client and the keyring are imported: a person glances at the tray right after login.
    # Sending Qt's requests to the X server now lets the tray host dock the icon while the
    # rest is imported (the tray host is another process).
    start = _show_cached_tray(demo, state)
    app.processEvents()

    import asyncio

    import qasync

    from traywidget.core.tasks import TaskRunner

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    quit_event = asyncio.Event()
    runner = TaskRunner(loop)

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
            loop.run_until_complete(_main(start, runner, instance, quit_event, request_quit, state))
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
    # Everything was closed above. Python's last garbage collection at exit would walk every object left
    # (Qt's wrappers, the demo's simulator): measured at 0.5-0.6 s of a 0.7 s quit. Frozen objects are skipped;
    # the process ends right after and takes them with it.
    gc.freeze()
    return int(state.get("exit_code", 0))


@dataclass
class _Start:
    """What start-up knows once the tray shows the cached values."""

    demo: bool
    config: Config
    config_store: ConfigStore
    secrets: Any
    data_dir: Path
    cache: Any
    cached: list[Any]
    tray: Any


def _show_cached_tray(demo: bool, state: dict[str, Any]) -> _Start:
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
        # The demo runs its gateway on a free port, with the demo's fixed token: try a tool against it.
        config = replace(config, settings=replace(config.settings, fast_interval_s=10.0, full_interval_s=30.0,
                                                  gateway_enabled=True, gateway_port=0))
        config_store.save(config)
        secrets: Any = session.secrets
        data_dir = root / "cache"
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

    cache = SnapshotCache(data_dir)
    cached = cache.load()  # marked stale until a poll confirms them
    s = config.settings
    tray = TrayView(thresholds=s.thresholds, pinned=s.pinned_meter, icon_per_account=s.icon_per_account)
    tray.set_accounts([a.id for a in config.accounts])
    tray.set_snapshots([snap for snap in cached if config.account(snap.account_id)])
    tray.show()
    return _Start(demo, config, config_store, secrets, data_dir, cache, cached, tray)


async def _main(
    start: _Start,
    runner: TaskRunner,
    instance: SingleInstance,
    quit_event: asyncio.Event,
    request_quit: Callable[[], None],
    state: dict[str, Any],
) -> None:
    import asyncio

    await asyncio.sleep(0.05)  # let Qt finish docking and painting the icon before the heavy imports
    demo, config, secrets, data_dir, cache = start.demo, start.config, start.secrets, start.data_dir, start.cache
    config_store, cached, early_tray, s = start.config_store, start.cached, start.tray, start.config.settings

    from traywidget.ui.controller import AppController

    _set_window_icon(QApplication.instance())
    autostart, autostart_enabled = (None, None) if demo else _autostart_callables()

    from traywidget.core.engine import Engine, EngineSettings
    from traywidget.core.engine_thread import ThreadedEngine
    from traywidget.core.history import HistoryStore
    from traywidget.core.recorder import SnapshotRecorder

    # The engine (and everything it does per response: parsing, scheduling,
    # recording) runs on a loop thread of its own; the GUI thread only sends
    # it commands and receives its snapshots, so it never stalls on network work.
    engine = Engine(list(config.accounts), secrets, settings=EngineSettings().with_user_settings(s))
    threaded = state["engine"] = ThreadedEngine(engine)
    try:
        history = HistoryStore(data_dir)
    except Exception:  # noqa: BLE001 - history is a nicety
        log.exception("usage history unavailable")
        history = None
    state["history"] = history
    recorder = state["recorder"] = SnapshotRecorder(history, cache, latest=lambda: engine.snapshots.values())
    threaded.subscribe(recorder.on_snapshot)
    if demo and history is not None:
        _backfill_demo_history(threaded, history)

    from traywidget.gateway.service import GatewayService

    # The local gateway lives on the engine's thread too (what it learns goes straight to the engine);
    # it listens only when the settings say so.
    # The demo's 404 and 401 speak of the demo: `traywidget accounts list` and `traywidget gateway token` are
    # about the user's accounts and token, not these.
    hints = {
        "accounts_hint": (f"one of the demo's account ids ({', '.join(a.id for a in config.accounts)}; "
                          "`traywidget --demo gateway env ACCOUNT_ID` prints a tool's settings)"),
        "token_help": ("Send the demo's gateway token as `Authorization: Bearer <token>` or `X-API-Key: <token>`; "
                       "print it with `traywidget --demo gateway token`."),
    } if demo else None
    gateway = state["gateway"] = GatewayService(engine, secrets, threaded.thread, config.accounts, hints=hints)
    controller = AppController(
        threaded, config=config, config_store=config_store, secrets=secrets, history=history,
        runner=runner, autostart=autostart, autostart_enabled=autostart_enabled, on_quit=request_quit,
        tray=early_tray, notifications=_desktop_notifications(state), gateway=gateway,
    )
    state["controller"] = controller
    from traywidget.ui.config_follower import ConfigFollower

    # Accounts added or removed with the command line (or in an editor) while the app runs.
    ConfigFollower(config_store, lambda: controller.config, controller.apply_config, controller.report_config_problem,
                   parent=controller)
    instance.show_requested.connect(controller.show_panel)
    controller.seed(cached)
    controller.show()
    threaded.start()
    controller.apply_gateway()
    if demo:
        runner.spawn(_say_where_the_demo_gateway_listens(gateway, list(config.accounts)),
                     name="demo-gateway-address")
    await quit_event.wait()


async def _say_where_the_demo_gateway_listens(gateway: Any, accounts: list[Any]) -> None:
    """The demo's gateway takes a free port: say which on stderr, with its token, for a first try; and leave
    where it is for the command line's --demo."""
    import asyncio

    from traywidget.demo import DEMO_GATEWAY_TOKEN, announce_demo

    account_ids = [a.id for a in accounts]
    from traywidget.i18n import tr

    for _ in range(200):  # it starts on the engine's thread within moments
        if gateway.state.running and gateway.state.port:
            break
        await asyncio.sleep(0.05)
    else:
        announce_demo(accounts, None)  # it did not start (the panel and a notification say why): no gateway
        return
    announce_demo(accounts, gateway.state.port)  # `traywidget --demo status|kill|gateway env` reach it
    base = f"http://127.0.0.1:{gateway.state.port}"
    print(tr("traywidget demo: its local gateway listens on {base}/ACCOUNT_ID (accounts: {ids}) and takes the "
             "token {token}. Try:").format(base=base, ids=", ".join(account_ids), token=DEMO_GATEWAY_TOKEN),
          f"  curl -H 'Authorization: Bearer {DEMO_GATEWAY_TOKEN}' -H 'Content-Type: application/json' "
          f"""-d '{{"model": "m", "messages": [{{"role": "user", "content": "hi"}}]}}' """
          f"{base}/{account_ids[0]}/chat/completions",
          tr("From another terminal, `traywidget --demo status`, `--demo kill` and `--demo gateway env ACCOUNT_ID` "
             "reach this demo."), sep="\n", file=sys.stderr, flush=True)


def _desktop_notifications(state: dict[str, Any]) -> Any:
    """On Linux, notifications go to the desktop's notification server over D-Bus, with the app's icon
    (a real file for as long as the app runs); elsewhere the tray's own messages are the path."""
    if not sys.platform.startswith("linux"):
        return None
    from contextlib import ExitStack

    from traywidget.core import assets
    from traywidget.core.notifications import DesktopNotifications

    files = state["files"] = ExitStack()
    icon = files.enter_context(assets.icon_path(64))
    notifications = state["notifications"] = DesktopNotifications(icon=str(icon))
    return notifications


def _backfill_demo_history(engine: Any, history: Any) -> None:
    """Give each demo account a simulated past day on its first snapshot (sparklines at once)."""
    import time

    from traywidget.demo import demo_history_rows

    done: set[str] = set()

    def on_snapshot(snapshot: Any) -> None:
        if snapshot.stale or snapshot.account_id in done or not snapshot.meters:
            return
        done.add(snapshot.account_id)
        history.add_samples(demo_history_rows(snapshot, time.time()))

    engine.subscribe(on_snapshot)


async def _shutdown(runner: TaskRunner, state: dict[str, Any]) -> None:
    import asyncio

    controller: AppController | None = state.get("controller")
    engine = state.get("engine")
    gateway = state.get("gateway")
    if gateway is not None:  # held streams end cleanly for their clients before the engine's loop stops
        try:
            await asyncio.wait_for(gateway.stop(), timeout=5)
        except Exception:  # noqa: BLE001
            log.exception("the local gateway did not stop cleanly")
    if engine is not None:
        try:
            await asyncio.wait_for(engine.stop(), timeout=5)
        except Exception:  # noqa: BLE001
            log.exception("engine did not stop cleanly")
    recorder = state.get("recorder")
    if recorder is not None:  # the engine's thread has ended: its snapshots are still
        try:
            recorder.save()
        except Exception:  # noqa: BLE001
            log.exception("could not save the snapshot cache")
    if controller is not None:
        controller.tray.hide()
        controller.panel.hide()
    await runner.cancel_all()
    notifications = state.get("notifications")
    if notifications is not None:
        notifications.close()
    files = state.get("files")
    if files is not None:
        files.close()
    history = state.get("history")
    if history is not None:
        history.close()
    session = state.get("demo")
    if session is not None:
        from traywidget.demo import withdraw_demo

        withdraw_demo()
        try:
            session.stop()
        except Exception:  # noqa: BLE001
            log.exception("simulator did not stop cleanly")
        import shutil

        shutil.rmtree(state.get("demo_dir", ""), ignore_errors=True)
