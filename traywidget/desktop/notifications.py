"""Desktop notifications over D-Bus (org.freedesktop.Notifications), Qt-free.

    notification_server_available() -> bool      # doctor: will notifications reach the desktop?
    desktop = DesktopNotifications(icon="/path/to/icon.png", on_failure=fallback)
    desktop.send(Notification("Main: 0 requests left this hour", "Resets 16:00.", Urgency.NORMAL))
    desktop.close()

Sending them ourselves (rather than through QSystemTrayIcon.showMessage)
makes them reach the desktop's notification server whatever kind of tray is in
use: Qt only speaks D-Bus when it found a StatusNotifier host, and with an
XEmbed tray draws its own balloon, which is outside the desktop's style and
its history. Each call runs on one worker thread, so a slow or hung bus never
blocks the GUI; a call that fails (no server, no bus, not Linux) is handed to
`on_failure`, from that thread, so the caller can fall back to something else.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from traywidget import APP_DISPLAY_NAME, APP_NAME

log = logging.getLogger(__name__)

NOTIFICATIONS = "org.freedesktop.Notifications"
NOTIFICATIONS_PATH = "/org/freedesktop/Notifications"
# A server started by D-Bus activation may take a moment on its first call.
CALL_TIMEOUT_S = 10.0
PROBE_TIMEOUT_S = 2.0


class Urgency(IntEnum):
    """The specification's urgency levels (the "urgency" hint, a byte)."""

    LOW = 0
    NORMAL = 1
    CRITICAL = 2


@dataclass(frozen=True)
class Notification:
    summary: str
    body: str = ""
    urgency: Urgency = Urgency.NORMAL


def notification_server_available(timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """True when a notification server owns org.freedesktop.Notifications on the session bus, or
    D-Bus can start one on demand (activation). False without a session bus, off Linux, or on any
    failure; bounded by `timeout_s` (per bus call)."""
    if not sys.platform.startswith("linux") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return False
    try:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection
        from jeepney.wrappers import unwrap_msg

        conn = open_dbus_connection(bus="SESSION", auth_timeout=timeout_s)
    except Exception as exc:
        log.debug("no session bus for notifications: %s", exc)
        return False
    try:
        if unwrap_msg(conn.send_and_get_reply(message_bus.NameHasOwner(NOTIFICATIONS), timeout=timeout_s))[0]:
            return True
        activatable = unwrap_msg(conn.send_and_get_reply(message_bus.ListActivatableNames(), timeout=timeout_s))[0]
        return NOTIFICATIONS in activatable
    except Exception as exc:
        log.debug("could not ask the session bus about notifications: %s", exc)
        return False
    finally:
        conn.close()


_STOP = object()


class DesktopNotifications:
    """Sends Notify calls from one worker thread, in order; never blocks the caller."""

    def __init__(
        self,
        *,
        icon: str = "",
        on_failure: Callable[[Notification, str], None] | None = None,
        app_name: str = APP_DISPLAY_NAME,
        desktop_entry: str = APP_NAME,
    ) -> None:
        self.icon = icon
        self.app_name = app_name
        self.desktop_entry = desktop_entry
        # Called from the worker thread with a notification that did not reach a server, and why.
        self.on_failure = on_failure
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def send(self, notification: Notification) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="traywidget-notify", daemon=True)
                self._thread.start()
        self._queue.put(notification)

    def close(self, timeout_s: float = 2.0) -> None:
        """Stop the worker after what is queued (bounded: a hung bus is left to the daemon thread)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(timeout_s)

    # ------------------------------------------------------------ worker
    def _run(self) -> None:
        conn = None
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            try:
                conn = conn or self._connect()
                self._notify(conn, item)
            except Exception as exc:
                log.info("desktop notification not delivered over D-Bus: %s", exc)
                if conn is not None:
                    conn.close()
                    conn = None
                if self.on_failure is not None:
                    try:
                        self.on_failure(item, str(exc))
                    except Exception:
                        log.exception("notification fallback failed")
        if conn is not None:
            conn.close()

    def _connect(self):
        if not sys.platform.startswith("linux"):
            raise OSError("D-Bus notifications are for Linux desktops")
        if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            raise OSError("no session bus (DBUS_SESSION_BUS_ADDRESS is not set)")
        from jeepney.io.blocking import open_dbus_connection

        return open_dbus_connection(bus="SESSION", auth_timeout=CALL_TIMEOUT_S)

    def _notify(self, conn, notification: Notification) -> int:
        from jeepney import DBusAddress, new_method_call
        from jeepney.wrappers import unwrap_msg

        address = DBusAddress(NOTIFICATIONS_PATH, bus_name=NOTIFICATIONS, interface=NOTIFICATIONS)
        hints = {
            "urgency": ("y", int(notification.urgency)),
            "desktop-entry": ("s", self.desktop_entry),
        }
        message = new_method_call(address, "Notify", "susssasa{sv}i", (
            self.app_name, 0, self.icon, notification.summary, notification.body, [], hints, -1,
        ))
        (notification_id,) = unwrap_msg(conn.send_and_get_reply(message, timeout=CALL_TIMEOUT_S))
        log.debug("notified over D-Bus (id %d): %s", notification_id, notification.summary)
        return notification_id
