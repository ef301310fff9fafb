"""One icon per account on a real XEmbed tray (trayer under Xvfb): the icons read in the accounts' order from
left to right, each told apart by its own band colour — four accounts, two of them of the same provider.

trayer puts the icon docked last first; the tray makes the icons last to first there
(traywidget.ui.tray.icons_dock_newest_first, which also says what other hosts do)."""

from __future__ import annotations

import json

import pytest
from PySide6.QtGui import QImage

from tests.conftest import require_tools
from tests.desktop_session import app_command, app_env, background, dbus_session, trayer, wait_until, x, x_windows, xvfb
from traywidget.ui.badge import ACCOUNT_BANDS

pytestmark = [pytest.mark.desktop, pytest.mark.slow]

ACCOUNTS = [("routing.run", "Alpha", "https://api.routing.run/v1"), ("openrouter", "Bravo", "https://openrouter.ai/api/v1"),
            ("routeway", "Charlie", "https://api.routeway.ai/v1"), ("routing.run", "Delta", "https://api.routing.run/v1")]


def docked_icons(env: dict[str, str]) -> list[dict]:
    windows = x_windows(env)
    for i, win in enumerate(windows):
        if '"panel" "trayer"' in win["class"]:
            return [c for c in windows[i + 1:] if c["name"] == "Traywidget" and c["w"] > 1 and c["h"] > 1]
    return []


def band_of(image: QImage, icon: dict) -> str | None:
    """The account band colour found in the icon's middle column, if any."""
    column = icon["x"] + icon["w"] // 2
    for y in range(icon["y"], icon["y"] + icon["h"]):
        colour = image.pixelColor(column, y).name()
        if colour in ACCOUNT_BANDS:
            return colour
    return None


def test_per_account_icons_read_in_the_accounts_order(tmp_path):
    require_tools("dbus-daemon", "Xvfb", "trayer", "xwininfo", "import")
    (tmp_path / "config").mkdir()
    accounts = [{"id": f"a{i}", "provider": p, "label": label, "base_url": url}
                for i, (p, label, url) in enumerate(ACCOUNTS)]
    (tmp_path / "config" / "config.json").write_text(
        json.dumps({"accounts": accounts, "settings": {"icon_per_account": True}}))
    with dbus_session(tmp_path / "home", services=[]) as bus, xvfb(bus, size="800x300x24") as env, trayer(env):
        with background(app_command(), app_env(env, tmp_path, "tw-order"), tmp_path / "app.log") as app:
            icons = wait_until(lambda: app.poll() is None and len(docked_icons(env)) == 4 and docked_icons(env), 30,
                               what="four icons docked")
            shot = tmp_path / "tray.png"

            def bands() -> list[str | None] | None:
                x(env, "import", "-window", "root", str(shot))
                image = QImage(str(shot))
                found = [band_of(image, icon) for icon in sorted(icons, key=lambda icon: icon["x"])]
                return found if None not in found else None

            found = wait_until(bands, 15, what="every icon drawn with its band")
    assert found == list(ACCOUNT_BANDS[:4])  # left to right: Alpha, Bravo, Charlie, Delta
    assert len(set(found)) == 4  # the two routing.run accounts are told apart


def item_title(env: dict[str, str], item: str) -> str:
    """A StatusNotifierItem's ToolTip title, read over D-Bus as a host reads it."""
    from jeepney import DBusAddress, Properties
    from jeepney.io.blocking import open_dbus_connection

    service, _, path = item.partition("/")
    address = DBusAddress("/" + path, bus_name=service, interface="org.kde.StatusNotifierItem")
    with open_dbus_connection(bus=env["DBUS_SESSION_BUS_ADDRESS"]) as conn:
        reply = conn.send_and_get_reply(Properties(address).get("ToolTip"), timeout=5)
    _signature, (_icon_name, _icon, title, body) = reply.body[0]
    return title + "\n" + body


def test_per_account_items_register_in_the_accounts_order_with_a_statusnotifier_host(tmp_path):
    """With a StatusNotifierWatcher (Plasma, waybar), items register in the accounts' order: a host that shows
    them in registration order shows them in the accounts' order (one that sorts them itself has the last word)."""
    from tests.desktop_session import sni_watcher

    require_tools("dbus-daemon", "Xvfb")
    (tmp_path / "config").mkdir()
    accounts = [{"id": f"a{i}", "provider": p, "label": label, "base_url": url}
                for i, (p, label, url) in enumerate(ACCOUNTS)]
    (tmp_path / "config" / "config.json").write_text(
        json.dumps({"accounts": accounts, "settings": {"icon_per_account": True}}))
    with dbus_session(tmp_path / "home", services=[]) as bus, xvfb(bus, size="800x300x24") as env, \
            sni_watcher(env) as watcher:
        with background(app_command(), app_env(env, tmp_path, "tw-order-sni"), tmp_path / "app.log") as app:
            items = wait_until(lambda: app.poll() is None and len(regs := [line[5:] for line in watcher.lines
                                                                           if line.startswith("item ")]) == 4
                               and regs, 30, what="four items registered")

            def labels() -> list[str] | None:
                titles = [item_title(env, item) for item in items]
                found = [next((label for _p, label, _u in ACCOUNTS if label in title), None) for title in titles]
                return found if None not in found else None

            found = wait_until(labels, 15, what="every item named after its account")
    assert found == ["Alpha", "Bravo", "Charlie", "Delta"]
