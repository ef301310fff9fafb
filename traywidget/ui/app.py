"""The one startup path of the GUI.

    run_app(demo=False, self_test=False) -> exit code

1. PySide6 imported before qasync (qasync binds the first Qt binding it
   finds in sys.modules); QApplication named (notifications are titled after it),
   quitOnLastWindowClosed off (closing the panel must not quit a tray app).
2. Single instance per user (ui/single_instance.py): a second launch sends
   "show", the first shows its panel, the second exits 0.
3. The tray with the last cached values is shown first, before asyncio,
   the engine, the HTTP client or the keyring are imported; Qt's requests
   go out at once, so the tray host docks the icon while the rest loads.
4. A qasync.QEventLoop runs `Session.run` (ui/session.py): the engine (on a
   loop thread of its own, asked through ui/bridge.py), history, recorder,
   gateway and the controller (ui/controller.py) are built and polling
   starts. Quit (menu, SIGINT/SIGTERM, session end via aboutToQuit) sets one
   asyncio event; then `Session.shutdown` runs: the gateway and the engine
   stop (closing the HTTP client and its thread), the cache is saved.
5. No tray on the desktop: said once (log + panel status) and the panel is
   shown as an ordinary window instead; closing it quits.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket

from PySide6.QtCore import QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication

from traywidget import APP_DISPLAY_NAME, APP_NAME, __version__
from traywidget.store.config import ConfigStore
from traywidget.ui.pyside_imports import skip_feature_scan
from traywidget.ui.session import Session
from traywidget.ui.single_instance import SingleInstance, instance_name

log = logging.getLogger(__name__)


def _make_application(argv: list[str]) -> QApplication:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(argv)
    # Qt sends applicationName as the notification's app_name (what
    # notification servers show as the sender), so it is the display name.
    app.setApplicationName(APP_DISPLAY_NAME)
    app.setApplicationDisplayName(APP_DISPLAY_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_NAME)
    app.setQuitOnLastWindowClosed(False)
    return app


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

    # Sending Qt's requests to the X server now lets the tray host dock the icon while the
    # rest is imported (the tray host is another process).
    session = Session.show_cached(demo)
    app.processEvents()

    import asyncio

    # PySide6 is imported already, so qasync binds it (no QT_API needed, nothing logged).
    import qasync

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    quit_event = asyncio.Event()

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
            loop.run_until_complete(session.run(quit_event, request_quit, instance))
        except RuntimeError as exc:
            # app.quit() from elsewhere stops Qt's loop before run() returns: shut down below anyway.
            log.debug("event loop stopped early: %s", exc)
        loop.run_until_complete(session.shutdown())
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
    return 0
