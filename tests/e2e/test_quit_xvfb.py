"""Quitting is quick: the tray demo (simulator, engine, gateway, a docked icon) is gone within half a second of
SIGTERM (it took 0.7-1.7 s while Python's last garbage collection walked every Qt wrapper at exit)."""

from __future__ import annotations

import signal
import time

import pytest

from tests.conftest import require_tools
from tests.desktop_session import (
    app_command,
    app_env,
    background,
    dbus_session,
    docked_icon,
    free_port,
    trayer,
    wait_until,
    xvfb,
)

pytestmark = [pytest.mark.desktop, pytest.mark.slow]

QUIT_WITHIN_S = 0.5


def test_the_demo_quits_within_half_a_second(tmp_path):
    require_tools("dbus-daemon", "Xvfb", "trayer", "xwininfo")
    port = free_port()
    app_log = tmp_path / "app.log"
    with dbus_session(tmp_path / "home") as bus, xvfb(bus, size="1024x768x24") as env, trayer(env):
        with background(app_command("--demo"), app_env(env, tmp_path, f"tw-quit-{port}", port), app_log) as app:
            wait_until(lambda: docked_icon(env), 30, what="the icon docked")
            wait_until(lambda: "its local gateway listens on" in app_log.read_text(), 20, what="the demo running")
            sent = time.monotonic()
            app.send_signal(signal.SIGTERM)
            assert app.wait(10) == 0, app_log.read_text()
            took = time.monotonic() - sent
    assert took < QUIT_WITHIN_S, f"quitting took {took:.2f} s"
