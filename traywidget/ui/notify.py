"""Desktop notifications for Alerts, by the best path the desktop offers.

1. The desktop's notification server over D-Bus (desktop/notifications.py), whatever
   kind of tray is in use: the desktop's own style and history, "Traywidget" as
   the sender, an icon, urgency by kind.
2. Qt's tray balloon, only when that fails (no server on the bus, not Linux).
3. With no tray either: the log and the panel's status line.

Sending never blocks the GUI thread: the D-Bus call runs on a worker thread,
and a failed one comes back here (queued to this thread) to take path 2.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QSystemTrayIcon

from traywidget.desktop.notifications import DesktopNotifications, Notification, Urgency
from traywidget.present import alerts
from traywidget.present.alerts import Alert

log = logging.getLogger(__name__)

# What each kind asks of the person: act now, take note, or nothing much.
URGENCY = {
    alerts.AUTH_ERROR: Urgency.CRITICAL,
    alerts.PAYMENT_REQUIRED: Urgency.CRITICAL,
    alerts.RATE_LIMITED: Urgency.NORMAL,
    alerts.EXHAUSTED: Urgency.NORMAL,
    alerts.THRESHOLD: Urgency.NORMAL,
    alerts.CONFIG_ERROR: Urgency.NORMAL,
    alerts.GATEWAY_ERROR: Urgency.NORMAL,
    alerts.RESTORED: Urgency.LOW,
    alerts.HOLD: Urgency.NORMAL,
    alerts.KILL_RESULT: Urgency.NORMAL,  # the answer to a click: drawn like any news, not dimmed
}
BALLOON_ICON = {
    Urgency.CRITICAL: QSystemTrayIcon.MessageIcon.Critical,
    Urgency.NORMAL: QSystemTrayIcon.MessageIcon.Warning,
    Urgency.LOW: QSystemTrayIcon.MessageIcon.Information,
}
BALLOON_MS = 8000


class Notifier(QObject):
    """Shows alerts. `icon` returns the tray icon to fall back to (None when there is none)."""

    shown = Signal(object)  # every alert, however it was shown
    _undelivered = Signal(object)  # a Notification D-Bus did not take, back on the GUI thread

    def __init__(
        self,
        icon: Callable[[], QSystemTrayIcon | None],
        *,
        desktop: DesktopNotifications | None = None,
        status_sink: Callable[[str], None] | None = None,
        enabled: bool = True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._icon = icon
        self._desktop = desktop
        self._status_sink = status_sink
        self.enabled = enabled
        self._said_no_tray = False
        self._undelivered.connect(self._fall_back)
        if desktop is not None:
            desktop.on_failure = lambda notification, _reason: self._undelivered.emit(notification)

    def notify(self, alert: Alert, force: bool = False) -> None:
        """Show `alert`; `force` shows it even with notifications turned off (answers to a click)."""
        log.info("alert %s %s: %s — %s", alert.kind, alert.account_id, alert.title, alert.body)
        self.shown.emit(alert)
        if not self.enabled and not force:
            return
        notification = Notification(alert.title, alert.body, URGENCY.get(alert.kind, Urgency.NORMAL))
        if self._desktop is not None:
            self._desktop.send(notification)
        else:
            self._fall_back(notification)

    def notify_all(self, alerts_: Iterable[Alert]) -> None:
        for alert in alerts_:
            self.notify(alert)

    def _fall_back(self, notification: Notification) -> None:
        icon = self._icon()
        if icon is not None and icon.isSystemTrayAvailable() and icon.supportsMessages():
            # A balloon with no text under its title shows nothing on some platforms.
            icon.showMessage(notification.summary, notification.body or notification.summary,
                             BALLOON_ICON[notification.urgency], BALLOON_MS)
            log.info("shown as a tray balloon: %s", notification.summary)
            return
        if not self._said_no_tray:
            self._said_no_tray = True
            log.warning("no notification server and no tray: notifications go to the log and the panel")
        if self._status_sink is not None:
            summary, body = notification.summary, notification.body
            self._status_sink(f"{summary} — {body}" if body else summary)
