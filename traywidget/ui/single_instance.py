"""One app per user and config: a second launch asks the first to show its panel."""

from __future__ import annotations

import getpass
import hashlib
import logging
import os

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from traywidget import APP_NAME

log = logging.getLogger(__name__)

INSTANCE_ENV = "TRAYWIDGET_INSTANCE_NAME"


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
