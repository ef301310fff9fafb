"""One app per user and config: a second launch asks the first to show its panel.

The running instance holds an exclusive lock on a file in a directory only
this user can enter, and listens on a socket beside it. A second launch
cannot take the lock, so it connects, says "show" and exits. The lock (not
the socket) decides who runs: it is released by the OS when a process dies,
so a crashed instance never blocks the next start, and two launches at the
same instant cannot both win.

Plain sockets watched by a QSocketNotifier (QtCore): the app does not load
QtNetwork just for this. A Unix socket where the OS has one; a loopback TCP
port (written beside the lock) on Windows.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import os
import socket
import sys
import tempfile
import time
from io import BufferedRandom
from pathlib import Path

from PySide6.QtCore import QObject, QSocketNotifier, Signal

from traywidget import APP_NAME

log = logging.getLogger(__name__)

INSTANCE_ENV = "TRAYWIDGET_INSTANCE_NAME"
SHOW = b"show\n"
CONNECT_TIMEOUT_S = 0.5
# A second launch that finds the lock taken waits this long for the first
# one's socket (the first may be between taking the lock and listening).
HANDOVER_S = 3.0


def instance_name(demo: bool = False) -> str:
    override = os.environ.get(INSTANCE_ENV)
    if override:
        return override
    try:
        user = getpass.getuser()
    except Exception:
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    if demo:
        scope = "demo"
    else:
        from traywidget.store.paths import config_dir

        scope = hashlib.sha1(str(config_dir()).encode()).hexdigest()[:8]
    return f"{APP_NAME}-{user}-{scope}"


def runtime_dir() -> Path:
    """A directory only this user can enter: $XDG_RUNTIME_DIR, else a private one in the temp dir."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and os.path.isdir(base):
        return Path(base)
    uid = os.getuid() if hasattr(os, "getuid") else getpass.getuser()
    private = Path(tempfile.gettempdir()) / f"{APP_NAME}-{uid}"
    private.mkdir(mode=0o700, exist_ok=True)
    if hasattr(os, "getuid") and (private.stat().st_uid != os.getuid() or private.stat().st_mode & 0o077):
        raise OSError(f"{private} is not private to this user")
    return private


class _Lock:
    """An exclusive, non-blocking lock on a file, held until released or the process ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BufferedRandom | None = None

    def acquire(self) -> bool:
        handle = open(self.path, "a+b")  # noqa: SIM115 - held open for the lock's lifetime
        try:
            if sys.platform == "win32":
                import msvcrt

                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing releases the lock
            self._file = None


class SingleInstance(QObject):
    """The first launch listens; later launches send "show" and exit."""

    show_requested = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._lock: _Lock | None = None
        self._server: socket.socket | None = None
        self._notifiers: dict[socket.socket, QSocketNotifier] = {}

    # -- where ---------------------------------------------------------------
    def _paths(self) -> tuple[Path, Path]:
        directory = runtime_dir()
        return directory / f"{self.name}.lock", directory / f"{self.name}.sock"

    # -- claim ---------------------------------------------------------------
    def claim(self) -> bool:
        """Become the running instance; False if another one runs (it was asked to show itself)."""
        try:
            lock_path, address_path = self._paths()
        except OSError as exc:
            log.warning("single instance unavailable (%s): running anyway", exc)
            return True
        lock = _Lock(lock_path)
        if not lock.acquire():
            if self._tell_running(address_path):
                return False
            log.warning("another instance holds %s but does not answer: running anyway", lock_path)
            return True
        self._lock = lock
        try:
            self._listen(address_path)
        except OSError as exc:
            log.warning("single-instance socket unavailable (%s): a second launch will not find this one", exc)
        return True

    def _listen(self, address_path: Path) -> None:
        if hasattr(socket, "AF_UNIX"):
            address_path.unlink(missing_ok=True)  # left by a crashed instance: we hold the lock now
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.bind(str(address_path))
        else:
            server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            server.bind(("127.0.0.1", 0))
            address_path.write_text(str(server.getsockname()[1]))
        server.listen(8)
        server.setblocking(False)
        self._server = server
        self._watch(server, self._accept)

    def _tell_running(self, address_path: Path) -> bool:
        deadline = time.monotonic() + HANDOVER_S
        while True:
            try:
                with _connect(address_path) as conn:
                    conn.sendall(SHOW)
                return True
            except OSError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.05)

    # -- serve ---------------------------------------------------------------
    def _watch(self, sock: socket.socket, handler) -> None:
        notifier = QSocketNotifier(sock.fileno(), QSocketNotifier.Type.Read, self)
        notifier.activated.connect(lambda *_: handler(sock))
        self._notifiers[sock] = notifier

    def _forget(self, sock: socket.socket) -> None:
        notifier = self._notifiers.pop(sock, None)
        if notifier is not None:
            notifier.setEnabled(False)
            # Its Python slot goes first: under PySide6 6.11.3 a notifier deleted with the lambda still
            # connected crashed a later event-loop run (pytest tests/ui/test_single_instance.py test_tray.py).
            notifier.activated.disconnect()
            notifier.deleteLater()
        sock.close()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                conn, _ = server.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            conn.setblocking(False)
            self._watch(conn, self._read)

    def _read(self, conn: socket.socket) -> None:
        try:
            data = conn.recv(64)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if b"show" in data:
            self.show_requested.emit()
        if not data or b"\n" in data:
            self._forget(conn)

    def close(self) -> None:
        for sock in list(self._notifiers):
            self._forget(sock)
        self._server = None
        if self._lock is not None:
            try:
                self._paths()[1].unlink(missing_ok=True)
            except OSError:
                pass
            self._lock.release()
            self._lock = None


def _connect(address_path: Path) -> socket.socket:
    if hasattr(socket, "AF_UNIX"):
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target: str | tuple[str, int] = str(address_path)
    else:
        conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        target = ("127.0.0.1", int(address_path.read_text()))
    conn.settimeout(CONNECT_TIMEOUT_S)
    try:
        conn.connect(target)
    except OSError:
        conn.close()
        raise
    return conn
