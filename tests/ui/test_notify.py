from __future__ import annotations

from PySide6.QtWidgets import QSystemTrayIcon

from traywidget.core import alerts as A
from traywidget.core.alerts import Alert
from traywidget.ui.notify import Notifier


class FakeIcon:
    def __init__(self):
        self.messages = []

    def showMessage(self, title, body, icon, ms):  # noqa: N802
        self.messages.append((title, body, icon, ms))


def test_show_message_once_per_alert(qapp):
    icon = FakeIcon()
    n = Notifier(icon, available=lambda: True)  # type: ignore[arg-type]
    alerts = [Alert(A.RATE_LIMITED, "a", "Main: hourly limit hit (429)", "Resets in 20 min."),
              Alert(A.RESTORED, "a", "Main: quota restored", "500 / 500 available.")]
    n.notify_all(alerts)
    assert [m[0] for m in icon.messages] == [a.title for a in alerts]
    assert icon.messages[0][2] == QSystemTrayIcon.MessageIcon.Warning
    assert icon.messages[1][2] == QSystemTrayIcon.MessageIcon.Information


def test_no_tray_falls_back_to_status_line(qapp, caplog):
    caplog.set_level("INFO")
    lines = []
    n = Notifier(FakeIcon(), status_sink=lines.append, available=lambda: False)  # type: ignore[arg-type]
    n.notify(Alert(A.EXHAUSTED, "a", "Main: requests used up", "0 of 500 left."))
    assert lines == ["Main: requests used up — 0 of 500 left."]
    assert "Main: requests used up" in caplog.text


def test_disabled_notifications_still_answer_clicks(qapp):
    icon = FakeIcon()
    n = Notifier(icon, available=lambda: True, enabled=False)  # type: ignore[arg-type]
    n.notify(Alert(A.THRESHOLD, "a", "t", "b"))
    n.notify(Alert(A.KILL_RESULT, "", "Stopped 1 stream on 1 account", ""), force=True)
    assert [m[0] for m in icon.messages] == ["Stopped 1 stream on 1 account"]


def test_app_display_name(qapp):
    from traywidget.app import _make_application

    app = _make_application(["traywidget"])
    assert app.applicationDisplayName() == "Traywidget"
    assert app.applicationName() == "Traywidget"  # the Notify app_name
    assert not app.quitOnLastWindowClosed()
