"""The real tray on a real (virtual) X server: docks, draws its badge, its menu kills streams, one instance.

Xvfb + trayer (a small XEmbed tray host) + `python -m traywidget --demo` as a
subprocess, on a private D-Bus session (so it finds neither the host's bus nor
a StatusNotifierWatcher: Qt docks over XEmbed). The test finds the docked icon
with xwininfo, reads the badge's pixels from a screenshot, right-clicks it with
xdotool, picks "Kill all streams" with the keyboard and checks through the demo
simulator's /_sim API that routing.run's stream was killed.
"""

from __future__ import annotations

import subprocess
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
    mapped,
    override_redirect,
    region_stats,
    screenshot,
    sim_call,
    sim_up,
    trayer,
    wait_until,
    x,
    x_windows,
    xvfb,
)
from traywidget.simulator.demo_world import ROUTING_KEY

pytestmark = [pytest.mark.desktop, pytest.mark.slow]

TOOLS = ("dbus-daemon", "Xvfb", "trayer", "xdotool", "xwininfo", "import", "convert")
# The head of the menu as tray.py builds it: Show usage…, ---, Kill all streams, ---, ...
# QMenu skips separators; the first Down selects the first item.
DOWN_TO_KILL_ALL = 2


def _routing_streams(port: int) -> dict[str, int]:
    return sim_call(port, "streams")["streams"]["routing.run"]


def test_docked_badge_menu_kill_all_and_single_instance(tmp_path):
    require_tools(*TOOLS)
    port = free_port()
    app_log = tmp_path / "app.log"
    with dbus_session(tmp_path / "home") as bus_env, xvfb(bus_env, size="1024x768x24") as env, trayer(env):
        launch_env = app_env(env, tmp_path, f"tw-tray-{port}", port)
        with background(app_command("--demo"), launch_env, app_log) as app:

            def alive() -> None:
                assert app.poll() is None, f"the app exited ({app.returncode}):\n{app_log.read_text()}"

            def icon():
                alive()
                return docked_icon(env)

            # --- docked: a child of trayer's panel window, icon-sized.
            geometry = wait_until(icon, 20, what="the icon docked in trayer")
            assert 16 <= geometry["w"] <= 64 and 16 <= geometry["h"] <= 64, geometry
            wait_until(lambda: sim_up(port) and sim_call(port, f"requests?key={ROUTING_KEY}")["count"] > 0, 10,
                       what="the first poll")

            # --- the badge is drawn: the icon rectangle has colour, not a flat fill. The first
            # snapshot reaches it a moment after the first poll (longer on a loaded machine).
            def badge_stats():
                shot = screenshot(env, tmp_path / "tray.png")
                return shot, *region_stats(shot, geometry["x"], geometry["y"], geometry["w"], geometry["h"])

            deadline = time.monotonic() + 15
            shot, stddev, colours = badge_stats()
            while not (stddev > 0.05 and colours >= 8) and time.monotonic() < deadline:
                time.sleep(0.5)
                shot, stddev, colours = badge_stats()
            assert stddev > 0.05 and colours >= 8, (
                f"badge area looks blank: stddev {stddev:.3f}, {colours} colours (screenshot {shot})")

            # --- right click opens the menu: a new override-redirect window.
            wait_until(lambda: _routing_streams(port)["active"] >= 1, 10, what="the demo's routing.run stream")
            before_ids = {w["id"] for w in x_windows(env)}
            before = _routing_streams(port)
            cx, cy = geometry["x"] + geometry["w"] // 2, geometry["y"] + geometry["h"] // 2
            x(env, "xdotool", "mousemove", str(cx), str(cy))
            time.sleep(0.2)
            x(env, "xdotool", "click", "3")

            def menu_window():
                alive()
                for win in x_windows(env):
                    if (win["id"] not in before_ids and win["w"] > 100 and win["h"] > 100
                            and override_redirect(env, win["id"]) and mapped(env, win["id"])):
                        return win
                return None

            menu = wait_until(menu_window, 5, what="the context menu")
            time.sleep(0.3)
            screenshot(env, tmp_path / "menu.png")

            # --- "Kill all streams" with the keyboard.
            x(env, "xdotool", "key", "--delay", "120", *(["Down"] * DOWN_TO_KILL_ALL), "Return")

            def killed():
                stats = _routing_streams(port)
                return stats if stats["killed"] > before["killed"] else None

            after = wait_until(killed, 5, what="the routing.run stream killed")
            # The demo reopens the stream ~10 s after a kill: right after it, none is active.
            assert after["active"] == 0, after
            assert after["killed"] == before["killed"] + before["active"], (before, after)
            wait_until(lambda: not mapped(env, menu["id"]), 3, what="the menu closing")

            # --- single instance: a second launch with the same name says "show" and exits 0 at once.
            started = time.monotonic()
            second = subprocess.run(app_command("--demo"), env=launch_env, capture_output=True, text=True,
                                    timeout=20)
            took = time.monotonic() - started
            assert second.returncode == 0, second.stderr
            assert took < 8, f"the second launch took {took:.1f} s"
            alive()
            # ... and the first one showed its panel (an ordinary top-level window) and still answers.
            wait_until(lambda: any("usage" in w["name"].lower() and w["w"] > 200 and w["h"] > 100
                                   and not override_redirect(env, w["id"]) and mapped(env, w["id"])
                                   for w in x_windows(env)), 5, what="the panel shown by the first instance")
            assert docked_icon(env) is not None
            assert sim_up(port)
