"""The real app on a real (virtual) X server speaks the language it is told: the environment's, or the one
chosen in Settings over it. A first run opens the panel by itself; its window title says which language won."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import require_tools
from tests.desktop_session import (
    app_command,
    app_env,
    background,
    dbus_session,
    docked_icon,
    mapped,
    trayer,
    wait_until,
    x_windows,
    xvfb,
)
from traywidget.store.config import Config, ConfigStore, Settings

pytestmark = [pytest.mark.desktop, pytest.mark.slow]

TOOLS = ("dbus-daemon", "Xvfb", "trayer", "xwininfo")


def titled(env: dict[str, str], title: str) -> dict | None:
    return next((win for win in x_windows(env) if win["name"] == title and mapped(env, win["id"])), None)


@pytest.mark.parametrize("setting,title", [
    (None, "Verbrauch — Traywidget"),  # System default: LANGUAGE=de
    ("es", "Uso — Traywidget"),  # Settings win over the environment
])
def test_the_app_speaks_the_language_it_is_told(tmp_path, setting, title):
    require_tools(*TOOLS)
    ConfigStore(tmp_path / "config").save(Config(settings=Settings(language=setting)))
    app_log = tmp_path / "app.log"
    with dbus_session(tmp_path / "home") as bus_env, xvfb(bus_env, size="1024x768x24") as env, trayer(env):
        launch_env = {**app_env(env, tmp_path, f"tw-lang-{uuid.uuid4().hex[:8]}"),
                      "LANGUAGE": "de", "LANG": "de_DE.UTF-8"}
        with background(app_command("--debug"), launch_env, app_log) as app:

            def alive() -> None:
                assert app.poll() is None, f"the app exited ({app.returncode}):\n{app_log.read_text()}"

            wait_until(lambda: alive() or docked_icon(env), 30, what="the icon docked in trayer")
            # With no account the panel opens by itself, titled in the language spoken.
            wait_until(lambda: alive() or titled(env, title), 20, what=f"a window titled {title!r}")
