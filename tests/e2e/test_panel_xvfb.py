"""The panel on a real (virtual) X server with a real tray host: the first run opens it by itself beside
the icon, a config file that could not be read is notified, and on a small screen at 2x it fits with
every button visible."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest

from tests.conftest import require_tools
from tests.desktop_session import (
    app_command,
    app_env,
    background,
    dbus_session,
    docked_icon,
    free_port,
    mapped,
    override_redirect,
    trayer,
    wait_until,
    x,
    x_windows,
    xvfb,
)
from traywidget.present.alerts import CONFIG_ERROR

pytestmark = [pytest.mark.desktop, pytest.mark.slow]

TOOLS = ("dbus-daemon", "Xvfb", "trayer", "xdotool", "xwininfo")


def panel_window(env: dict[str, str]) -> dict | None:
    """The app's usage panel: a mapped, managed top-level window titled "Usage"."""
    for win in x_windows(env):
        if win["name"].startswith("Usage") and win["w"] > 100 and win["h"] > 100 and mapped(env, win["id"]) \
                and not override_redirect(env, win["id"]):
            return win
    return None


def overlaps(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
            and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


def test_first_run_opens_the_panel_beside_the_icon_and_a_broken_config_is_notified(tmp_path):
    require_tools(*TOOLS)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.json").write_text('{"accounts": [ broken')
    app_log = tmp_path / "app.log"
    with dbus_session(tmp_path / "home") as bus_env, xvfb(bus_env, size="1024x768x24") as env, trayer(env):
        launch_env = app_env(env, tmp_path, f"tw-first-{uuid.uuid4().hex[:8]}")
        with background(app_command("--debug"), launch_env, app_log) as app:

            def alive() -> None:
                assert app.poll() is None, f"the app exited ({app.returncode}):\n{app_log.read_text()}"

            icon = wait_until(lambda: alive() or docked_icon(env), 30, what="the icon docked in trayer")
            # Nothing was clicked: with no account the panel opens by itself, below the icon.
            panel = wait_until(lambda: alive() or panel_window(env), 20, what="the panel opening by itself")
            assert not overlaps(panel, icon), (panel, icon)
            assert panel["y"] >= icon["y"] + icon["h"]
            assert panel["x"] >= 0 and panel["y"] >= 0 and panel["x"] + panel["w"] <= 1024
            assert panel["y"] + panel["h"] <= 768
            # The unreadable config was kept aside and said in a notification, not only in the panel.
            told = f"alert {CONFIG_ERROR}"
            log = wait_until(lambda: told in app_log.read_text() and app_log.read_text(), 10,
                             what="the config notification")
            assert "could not be read" in log
            assert list((tmp_path / "config").glob("config.json.corrupt-*"))


SMALL_SCREEN_PANEL = r"""
import json, sys
from datetime import timedelta
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QApplication
app = QApplication(["traywidget"])
from tests.ui.conftest import NOW, make_snapshot
from traywidget.model import ErrorInfo, State
from traywidget.ui.panel import PanelWindow

panel = PanelWindow(clock=lambda: NOW + timedelta(seconds=30), wall_time=lambda: NOW.timestamp())
ids = [f"acct{i}" for i in range(5)]
panel.set_accounts(ids)
labels = ["Team research account for the evaluation of long contexts 01", "Main", "Router", "Spare", "Night jobs"]
for i, (account_id, label) in enumerate(zip(ids, labels)):
    panel.update_snapshot(make_snapshot(account_id, label=label, hour=(998 - 200 * i, 1000), day=(5000, 15000),
                                        state=State.RATE_LIMITED if i == 2 else State.OK,
                                        error=ErrorInfo("Hourly request limit exceeded", 429) if i == 2 else None))
panel.set_notice("The config file could not be read. It was kept as config.json.corrupt-20250601T120000.")
icon = QRect(*map(int, sys.argv[1:5]))
panel.present(icon)
app.processEvents()
screen = panel.screen().availableGeometry()
frame = panel.frameGeometry()
buttons = {b.text(): QRect(b.mapToGlobal(QPoint(0, 0)), b.size()) for b in
           (panel.refresh_button, panel.kill_button, panel.settings_button)}
rect = lambda r: [r.x(), r.y(), r.width(), r.height()]
print(json.dumps({"ratio": panel.devicePixelRatio(), "screen": rect(screen), "window": rect(frame),
                  "inner": rect(panel.geometry()), "buttons": {k: rect(v) for k, v in buttons.items()},
                  "visible": all(b.isVisible() for b in (panel.refresh_button, panel.kill_button,
                                                         panel.settings_button))}))
if len(sys.argv) > 5:
    panel.grab().save(sys.argv[5])
"""


def inside(inner: list[int], outer: list[int]) -> bool:
    return (inner[0] >= outer[0] and inner[1] >= outer[1] and inner[0] + inner[2] <= outer[0] + outer[2]
            and inner[1] + inner[3] <= outer[1] + outer[3])


def test_small_screen_at_2x_fits_with_every_button_visible(tmp_path):
    require_tools("Xvfb")
    with xvfb({"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, size="1280x720x24") as env:
        env = {**env, "QT_SCALE_FACTOR": "2",
               "PYTHONPATH": str(__import__("tests.desktop_session").desktop_session.REPO)}
        # A tray icon in a 16-pixel (logical) top bar at the right edge.
        icon = [610, 2, 12, 12]
        proc = subprocess.run([sys.executable, "-c", SMALL_SCREEN_PANEL, *map(str, icon)], env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout.splitlines()[-1])
    assert result["ratio"] == 2.0 and result["screen"] == [0, 0, 640, 360]
    assert inside(result["inner"], result["screen"])
    assert result["inner"][1] >= icon[1] + icon[3]  # below the icon, not over it
    assert result["visible"]
    for name, button in result["buttons"].items():
        assert inside(button, result["inner"]) and inside(button, result["screen"]), (name, button, result)


def test_the_demo_panel_fits_a_small_screen_at_2x(tmp_path):
    require_tools(*TOOLS)
    port = free_port()
    app_log = tmp_path / "app.log"
    with dbus_session(tmp_path / "home") as bus_env, xvfb(bus_env, size="1280x720x24") as env, trayer(env):
        launch_env = {**app_env(env, tmp_path, f"tw-small-{port}", port), "QT_SCALE_FACTOR": "2"}
        with background(app_command("--demo"), launch_env, app_log) as app:

            def alive() -> None:
                assert app.poll() is None, f"the app exited ({app.returncode}):\n{app_log.read_text()}"

            icon = wait_until(lambda: alive() or docked_icon(env), 30, what="the icon docked in trayer")
            x(env, "xdotool", "mousemove", str(icon["x"] + icon["w"] // 2), str(icon["y"] + icon["h"] // 2))
            time.sleep(0.2)  # let the pointer arrive before the click
            x(env, "xdotool", "click", "1")
            panel = wait_until(lambda: alive() or panel_window(env), 20, what="the panel")
            assert not overlaps(panel, icon), (panel, icon)
            assert panel["x"] >= 0 and panel["y"] >= 0, panel
            assert panel["x"] + panel["w"] <= 1280 and panel["y"] + panel["h"] <= 720, panel
