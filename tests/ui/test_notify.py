"""The Notifier: the desktop's server over D-Bus first, Qt's balloon when that fails, the panel without a tray.

The D-Bus path reaching a real server (dunst) is tested in tests/e2e/test_notifications_dbus.py; here a
real private session bus with no notification server on it makes the D-Bus call fail for real.
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QSystemTrayIcon

from tests.conftest import require_tools
from tests.desktop_session import dbus_session
from traywidget.desktop.notifications import DesktopNotifications
from traywidget.present import alerts
from traywidget.present.alerts import Alert
from traywidget.ui.notify import Notifier

RATE = Alert(alerts.RATE_LIMITED, "a", "Main: hourly limit hit (429)", "Resets 16:00.")
RESTORED = Alert(alerts.RESTORED, "a", "Main: requests go through again", "500 requests left this hour.")
KEY = Alert(alerts.AUTH_ERROR, "a", "Main: key rejected", "Invalid API key")


class FakeIcon:
    """A tray icon that can show messages (offscreen Qt has no tray)."""

    def __init__(self, tray: bool = True):
        self.tray = tray
        self.messages = []

    def isSystemTrayAvailable(self):
        return self.tray

    def supportsMessages(self):
        return self.tray

    def showMessage(self, title, body, icon, ms):
        self.messages.append((title, body, icon, ms))


def test_balloon_once_per_alert_with_an_icon_by_urgency(qapp):
    icon = FakeIcon()
    notifier = Notifier(lambda: icon)
    notifier.notify_all([RATE, RESTORED, KEY])
    assert [(m[0], m[1], m[2]) for m in icon.messages] == [
        (RATE.title, RATE.body, QSystemTrayIcon.MessageIcon.Warning),
        (RESTORED.title, RESTORED.body, QSystemTrayIcon.MessageIcon.Information),
        (KEY.title, KEY.body, QSystemTrayIcon.MessageIcon.Critical),
    ]


def test_a_balloon_without_a_body_repeats_the_title(qapp):
    icon = FakeIcon()
    Notifier(lambda: icon).notify(Alert(alerts.KILL_RESULT, "", "No streams were running", ""), force=True)
    assert icon.messages[0][:2] == ("No streams were running", "No streams were running")


def test_no_tray_falls_back_to_status_line(qapp, caplog):
    caplog.set_level("INFO")
    lines = []
    notifier = Notifier(lambda: FakeIcon(tray=False), status_sink=lines.append)
    notifier.notify(Alert(alerts.EXHAUSTED, "a", "Main: 0 requests left this hour", "Resets 16:00."))
    assert lines == ["Main: 0 requests left this hour — Resets 16:00."]
    assert "Main: 0 requests left this hour" in caplog.text


def test_disabled_notifications_still_answer_clicks(qapp):
    icon = FakeIcon()
    notifier = Notifier(lambda: icon, enabled=False)
    shown = []
    notifier.shown.connect(shown.append)
    notifier.notify(Alert(alerts.THRESHOLD, "a", "t", "b"))
    notifier.notify(Alert(alerts.KILL_RESULT, "", "Stopped 1 stream on 1 account", ""), force=True)
    assert [m[0] for m in icon.messages] == ["Stopped 1 stream on 1 account"]
    assert [a.title for a in shown] == ["t", "Stopped 1 stream on 1 account"]  # the log and listeners hear both


@pytest.mark.desktop
def test_with_no_server_on_the_bus_the_desktop_path_falls_back_to_the_balloon(qtbot, tmp_path, monkeypatch):
    """A real session bus, nothing owning org.freedesktop.Notifications: the Notify call fails on the worker
    thread, and the alert comes back to the GUI thread as a balloon, once."""
    require_tools("dbus-daemon")
    with dbus_session(tmp_path / "home", services=[]) as env:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", env["DBUS_SESSION_BUS_ADDRESS"])
        desktop = DesktopNotifications(icon="")
        icon = FakeIcon()
        notifier = Notifier(lambda: icon, desktop=desktop)
        try:
            notifier.notify(RATE)
            assert icon.messages == []  # not yet: the D-Bus call runs on its own thread
            qtbot.waitUntil(lambda: len(icon.messages) == 1, timeout=10_000)
            notifier.notify(KEY)
            qtbot.waitUntil(lambda: len(icon.messages) == 2, timeout=10_000)
        finally:
            desktop.close()
    assert [(m[0], m[2]) for m in icon.messages] == [
        (RATE.title, QSystemTrayIcon.MessageIcon.Warning), (KEY.title, QSystemTrayIcon.MessageIcon.Critical)]


def test_the_app_is_named_for_notifications(qapp):
    from traywidget.ui.app import _make_application

    app = _make_application(["traywidget"])
    assert app.applicationDisplayName() == "Traywidget"
    assert app.applicationName() == "Traywidget"  # Qt's own Notify app_name, where Qt sends one
    assert not app.quitOnLastWindowClosed()
