"""Desktop notifications for Alerts.

`Notifier.notify(alert)` shows one tray message per alert, titled for the
app (QApplication's display name "Traywidget" names the sender; the title
says which account and what happened). With no tray on the desktop it logs
the alert and puts it on the panel's status line instead.
"""

from __future__ import annotations

import logging
from typing import Callable, Iterable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QSystemTrayIcon

from traywidget.core import alerts as A
from traywidget.core.alerts import Alert

log = logging.getLogger(__name__)

_WARNING_KINDS = {A.RATE_LIMITED, A.EXHAUSTED, A.AUTH_ERROR, A.PAYMENT_REQUIRED, A.THRESHOLD}
MESSAGE_MS = 8000


class Notifier(QObject):
    """Shows alerts. `icon` is the tray icon to speak through (or a callable returning it)."""

    shown = Signal(object)  # every alert, however it was shown

    def __init__(
        self,
        icon: QSystemTrayIcon | Callable[[], QSystemTrayIcon | None] | None = None,
        *,
        status_sink: Callable[[str], None] | None = None,
        available: Callable[[], bool] | None = None,
        enabled: bool = True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._icon = icon
        self._status_sink = status_sink
        self._available = available or (
            lambda: QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages()
        )
        self.enabled = enabled
        self._said_no_tray = False

    def set_status_sink(self, sink: Callable[[str], None] | None) -> None:
        self._status_sink = sink

    def _tray_icon(self) -> QSystemTrayIcon | None:
        icon = self._icon() if callable(self._icon) and not isinstance(self._icon, QSystemTrayIcon) else self._icon
        return icon  # type: ignore[return-value]

    def notify(self, alert: Alert, force: bool = False) -> None:
        """Show `alert`; `force` shows it even with notifications turned off (answers to a click)."""
        log.info("alert %s %s: %s — %s", alert.kind, alert.account_id, alert.title, alert.body)
        self.shown.emit(alert)
        if not self.enabled and not force:
            return
        icon = self._tray_icon()
        if icon is not None and self._available():
            kind = (QSystemTrayIcon.MessageIcon.Warning if alert.kind in _WARNING_KINDS
                    else QSystemTrayIcon.MessageIcon.Information)
            icon.showMessage(alert.title, alert.body, kind, MESSAGE_MS)
            return
        if not self._said_no_tray:
            self._said_no_tray = True
            log.warning("no system tray: notifications go to the log and the panel's status line")
        if self._status_sink is not None:
            self._status_sink(f"{alert.title} — {alert.body}" if alert.body else alert.title)

    def notify_all(self, alerts: Iterable[Alert]) -> None:
        for alert in alerts:
            self.notify(alert)
