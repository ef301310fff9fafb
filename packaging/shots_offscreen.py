"""Screenshots rendered offscreen from the checkout (packaging/screenshots.sh runs them):

    python packaging/shots_offscreen.py refilled_after_burst OUT.png
    python packaging/shots_offscreen.py severity_of_each_state OUT.png

refilled_after_burst drives the real parts: the loopback simulator (an OpenAI-compatible key with 3
requests per 3 s), the gateway on the engine's thread and the app's views fed through the bus. A burst of
requests through the gateway ends in 429s; the shot shows the badge, menu line, tooltip and panel card
then, and again after the window's reset with no new request (the engine's own wake-up moved them).
severity_of_each_state shows one account in each state: its own icon, its card's dot, and its level as
the JSON, Waybar and the exit code say it (traywidget/present/severity.py).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from traywidget.ui.panel import PanelWindow
    from traywidget.ui.tray import TrayView

INK, PAPER, MUTED = QColor("#202124"), QColor("#ffffff"), QColor("#5f6368")


def _text(p: QPainter, x: int, y: int, text: str, *, size: int = 13, bold: bool = False,
          color: QColor = INK, width: int = 900) -> int:
    """Draw wrapped text at (x, y); the height it took."""
    font = QFont("DejaVu Sans")
    font.setPixelSize(size)
    font.setBold(bold)
    p.setFont(font)
    p.setPen(color)
    rect = p.boundingRect(QRect(x, y, width, 2000), Qt.TextFlag.TextWordWrap, text)
    p.drawText(rect, Qt.TextFlag.TextWordWrap, text)
    return rect.height()


def _wait(app: QCoreApplication, condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the views did not change in time")
        app.processEvents()
        time.sleep(0.01)


def refilled_after_burst(out: str) -> None:
    import httpx

    from tests.ui.conftest import make_controller
    from traywidget.engine.engine import Engine
    from traywidget.engine.loop_thread import LoopThread
    from traywidget.gateway.service import GatewayService
    from traywidget.model import Account
    from traywidget.simulator import SimulatorServer
    from traywidget.store.config import Config, ConfigStore, Settings
    from traywidget.store.secrets import MemorySecretStore
    from traywidget.ui.badge import render_badge
    from traywidget.ui.bridge import EngineBridge

    app = QApplication.instance() or QApplication(["traywidget"])
    server = SimulatorServer()
    server.start()
    thread = LoopThread()
    thread.start()
    bridge = EngineBridge(thread)
    try:
        key = server.sim.add_openai_compatible_key(rpm=3, window_s=3)
        account = Account("oc", "openai-compatible", "Groq", server.url("openai-compatible"))
        secrets = MemorySecretStore()
        secrets.set("oc", key)
        engine = Engine([account], secrets)
        gateway = GatewayService(engine, secrets)
        config = Config(accounts=(account,), settings=Settings(gateway_enabled=True, gateway_port=0,
                                                               icon_per_account=True))
        store = ConfigStore(Path(tempfile.mkdtemp(prefix="traywidget-shot-")))
        store.save(config)
        controller = make_controller(engine, config=config, config_store=store, secrets=secrets, bridge=bridge,
                                     gateway=gateway)
        applied: list[object] = []
        controller.gateway_applied.connect(applied.append)
        controller.apply_gateway()
        _wait(app, lambda: bool(applied), 10)
        bridge.ask(engine.start, name="engine-start")
        token = thread.submit(gateway.token()).result(10)
        url = f"http://127.0.0.1:{gateway.state.port}/oc/chat/completions"
        for _ in range(5):
            httpx.post(url, headers={"Authorization": f"Bearer {token}"}, json={"messages": []}, timeout=10)
        tray, panel = controller.tray, controller.panel
        panel.resize(420, 260)
        panel.show()
        _wait(app, lambda: tray.badge("oc").text == "0" and "oc" in panel.cards, 5)
        phases = [("After a burst of 429s through the gateway", _phase(app, tray, panel, render_badge))]
        _wait(app, lambda: tray.badge("oc").text == "3", 10)
        phases.append(("After the window's reset, with no new request", _phase(app, tray, panel, render_badge)))
        thread.submit(gateway.stop()).result(10)
        thread.submit(engine.stop()).result(10)
    finally:
        thread.stop()
        server.stop()
    width = 560
    image = QImage(width * 2 + 30, 560, QImage.Format.Format_ARGB32)
    image.fill(PAPER)
    p = QPainter(image)
    for i, (title, (at, badge, menu, tip, card)) in enumerate(phases):
        x, y = 10 + i * (width + 10), 10
        y += _text(p, x, y, f"{title} ({at})", size=15, bold=True, width=width) + 8
        p.drawImage(x, y, badge)
        y += badge.height() + 8
        y += _text(p, x, y, "Menu:  " + menu, width=width) + 6
        y += _text(p, x, y, "Tooltip:  " + tip, width=width, color=MUTED) + 8
        p.drawImage(x, y, card)
    p.end()
    image.save(out)


def _phase(app: QCoreApplication, tray: TrayView, panel: PanelWindow,
           render_badge: Callable[..., QImage]) -> tuple[str, QImage, str, str, QImage]:
    for _ in range(10):
        app.processEvents()
    menu = next(a.text() for a in tray.contextMenu().actions() if a.menu())
    badge = render_badge(tray.badge("oc"), 48, 2.0)
    badge.setDevicePixelRatio(1.0)
    card = panel.cards["oc"].grab().toImage()
    return time.strftime("%H:%M:%S"), badge, menu, tray.icons["oc"].toolTip(), card


def severity_of_each_state(out: str) -> None:
    from tests.ui.conftest import NOW, make_snapshot
    from traywidget.cli import bar
    from traywidget.model import ErrorInfo, State
    from traywidget.present.headline import pick_headline
    from traywidget.present.severity import EXIT_CODES, severity_of
    from traywidget.present.text import menu_account_line
    from traywidget.ui.badge import account_band, badge_spec, render_badge
    from traywidget.ui.panel import PanelWindow

    app = QApplication.instance() or QApplication(["traywidget"])
    cases = [
        (State.OK, (420, 500), None),
        (State.LOW, (50, 500), None),
        (State.OFFLINE, (420, 500), ErrorInfo("Offline: cannot resolve api.routing.run")),
        (State.ERROR, (420, 500), ErrorInfo("Bad gateway", 502)),
        (State.EXHAUSTED, (0, 500), None),
        (State.RATE_LIMITED, (300, 500), ErrorInfo("Too many requests", 429, retry_after_s=40)),
        (State.AUTH_ERROR, None, ErrorInfo("Invalid API key", 401)),
        (State.PAYMENT_REQUIRED, None, ErrorInfo("Top up your account", 402)),
        (State.NO_KEY, None, ErrorInfo("No API key saved for this account.")),
    ]
    snaps = [make_snapshot(state.value, label=state.value, state=state, hour=hour, error=error,
                           fetched_at=NOW + timedelta(seconds=2))
             for state, hour, error in cases]
    # as the engine publishes them: each meter says when it was read (the failing ones: at the last good poll)
    snaps = [s.with_changes(meters=tuple(replace(m, seen_at=NOW) for m in s.meters)) for s in snaps]
    panel = PanelWindow(clock=lambda: NOW + timedelta(seconds=12), wall_time=lambda: NOW.timestamp())
    panel.set_accounts([s.account_id for s in snaps])
    for snap in snaps:
        panel.update_snapshot(snap)
    panel.resize(430, 1500)
    panel.show()
    for _ in range(10):
        app.processEvents()
    panel_image = panel.grab().toImage()
    row_h, table_w = 64, 900
    image = QImage(table_w + panel_image.width() + 30, max(len(snaps) * row_h + 60, panel_image.height() + 20),
                   QImage.Format.Format_ARGB32)
    image.fill(PAPER)
    p = QPainter(image)
    y = 10
    for x, head in ((10, "icon"), (110, "state"), (260, "severity = Waybar class"), (470, "exit"),
                    (520, "menu line")):
        _text(p, x, y, head, bold=True)
    y += 30
    for position, snap in enumerate(snaps):
        headline = pick_headline([snap])
        spec = badge_spec([snap], headline, band=account_band(position))
        for size, dx in ((32, 10), (16, 60)):
            icon = render_badge(spec, size, 1.0)
            p.drawImage(dx, y, icon.scaled(icon.width() * (48 // size), icon.height() * (48 // size)))
        level = severity_of(snap)
        _text(p, 110, y + 14, snap.state.value)
        _text(p, 260, y + 14, f"{level.word}  ({bar.bar_class([snap])})", bold=True)
        _text(p, 470, y + 14, str(EXIT_CODES[level]))
        _text(p, 520, y + 6, menu_account_line(snap), size=12, width=table_w - 520)
        y += row_h
    p.drawImage(table_w + 20, 10, panel_image)
    p.end()
    image.save(out)


if __name__ == "__main__":
    function, target = sys.argv[1], sys.argv[2]
    {"refilled_after_burst": refilled_after_burst, "severity_of_each_state": severity_of_each_state}[function](target)
