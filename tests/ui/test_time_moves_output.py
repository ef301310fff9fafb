"""Time moves the output: after a burst of 429s through the real gateway, every view stops showing the
spent window at its reset, with no new traffic — the tray's badge (one icon per account), tooltip, menu
and panel card, `status --json` (through the running gateway), `watch --format json|waybar|line` (the
printers `watch` and the gateway run), and the 429 itself ends at its Retry-After.

Real parts: the simulator over real sockets (an OpenAI-compatible key with 3 requests per 3 s, so the
reset comes in real time), the gateway on the engine's loop thread, the controller's views fed through
the bus. Nothing is polled: the account has no usage endpoint, so every change after the burst is the
engine's one wake-up at the next expiry (present/freshness.py)."""

from __future__ import annotations

import asyncio
import io
import json
import time
from datetime import datetime

import httpx
import pytest

from tests.ui.conftest import make_controller
from traywidget.cli.output import GuardedStream
from traywidget.cli.polling import EngineInputs, SnapshotPrinter, poll_with_gateway, watch_printer
from traywidget.engine.engine import Engine
from traywidget.gateway.service import GatewayService
from traywidget.model import REQUESTS_WINDOW, Account, Freshness, Snapshot, State
from traywidget.present.freshness import rate_limit_ends
from traywidget.present.status_document import account_document
from traywidget.store.config import Config, ConfigStore, Settings
from traywidget.store.secrets import MemorySecretStore

pytestmark = pytest.mark.slow

WITHIN_S = 1.0  # how soon after the reset every output must have moved on


class TimedLines(io.StringIO):
    """A stream that remembers when each line was written (what a status bar reading our pipe sees)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[float, str]] = []

    def write(self, text: str) -> int:
        for line in text.splitlines():
            self.lines.append((time.time(), line))
        return len(text)


def first_at_or_after(lines: list[tuple[float, str]], moment: float, wanted) -> tuple[float, str] | None:
    return next(((t, line) for t, line in lines if t >= moment - 0.05 and wanted(line)), None)


def requests_meter(account: dict) -> dict:
    return next(m for m in account["meters"] if m["name"] == REQUESTS_WINDOW)


def arrived(lines: list[tuple[float, str]], moment: float, wanted):
    return lambda: first_at_or_after(lines, moment, wanted) is not None


def test_after_a_burst_every_view_moves_on_at_the_reset_by_itself(qtbot, tmp_path, engine_bridge, sim,
                                                                  utc_local_time):
    key = sim.sim.add_openai_compatible_key(rpm=3, window_s=3)
    account = Account("oc", "openai-compatible", "Groq", sim.url("openai-compatible"))
    secrets = MemorySecretStore()
    secrets.set("oc", key)
    engine = Engine([account], secrets)
    bridge = engine_bridge
    gateway = GatewayService(engine, secrets)
    config = Config(accounts=(account,), settings=Settings(gateway_enabled=True, gateway_port=0,
                                                           icon_per_account=True))
    store = ConfigStore(tmp_path)
    store.save(config)
    published: list[tuple[float, Snapshot]] = []
    bridge.send(engine.subscribe, lambda snap: published.append((time.time(), snap)))
    outputs: dict[str, TimedLines] = {}
    for fmt in ("json", "waybar", "line"):
        outputs[fmt] = TimedLines()
        printer = SnapshotPrinter(watch_printer(fmt, EngineInputs([account], secrets, settings=None)),
                                  GuardedStream(outputs[fmt]))
        bridge.send(engine.subscribe, printer)
    controller = make_controller(engine, config=config, config_store=store, secrets=secrets, bridge=bridge,
                                 gateway=gateway)
    try:
        with qtbot.waitSignal(controller.gateway_applied, timeout=10000):
            controller.apply_gateway()
        assert gateway.state.running
        bridge.ask(engine.start, name="engine-start")
        token = bridge.loop_thread.submit(gateway.token()).result(10)
        url = f"http://127.0.0.1:{gateway.state.port}/oc/chat/completions"
        codes = [httpx.post(url, headers={"Authorization": f"Bearer {token}"}, json={"messages": []},
                            timeout=10).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        sent = sim.sim.count(key=key)
        qtbot.waitUntil(lambda: any(s.state is State.RATE_LIMITED for _, s in published), timeout=5000)
        limited = [s for _, s in published if s.state is State.RATE_LIMITED][-1]
        spent = limited.meter(REQUESTS_WINDOW)
        assert (spent.remaining, spent.freshness) == (0, Freshness.CURRENT)
        reset = spent.resets_at.timestamp()
        ends = rate_limit_ends(limited)
        assert ends is not None and ends.timestamp() < reset

        # The tray: the badge (this account's own icon) leaves "0" at the reset, tooltip and menu with it.
        qtbot.waitUntil(lambda: controller.tray.badge("oc").text == "3", timeout=int((reset - time.time() + 5) * 1000))
        moved = time.time()
        assert reset - 0.05 <= moved <= reset + WITHIN_S, (moved - reset)
        spec = controller.tray.badge("oc")
        assert (spec.level, spec.mark) == ("fine", "")
        tip = controller.tray.icons["oc"].toolTip()
        assert tip.startswith("Badge: Groq (OpenAI-compatible) — ≈ 3 requests left in this window · OK"), tip
        menu_line = next(a.text() for a in controller.tray.contextMenu().actions() if a.menu())
        assert menu_line == "Groq — ≈ 3 requests left in this window · OK"
        card = controller.panel.cards["oc"]
        row = next(r for r in card.rows if r.meter.name == REQUESTS_WINDOW)
        assert (row.value.text(), row.reset.full_text(), card.state.text()) == (
            "≈ 3 / 3", "Refilled at its reset (estimate)", "OK")

        # The 429 ended at its Retry-After (the window then still said 0: exhausted until its reset).
        after = [(t, s) for t, s in published if t > published[[s for _, s in published].index(limited)][0]]
        ended_at, first = next((t, s) for t, s in after if s.state is not State.RATE_LIMITED)
        assert first.state is State.EXHAUSTED and first.error is None
        assert ends.timestamp() - 0.05 <= ended_at <= ends.timestamp() + WITHIN_S

        # The lines a status bar reads came by themselves at the reset.
        for fmt, wanted in (
            ("json", lambda line: json.loads(line)["severity"] == "fine"
             and requests_meter(json.loads(line))["freshness"] == "refilled"),
            ("waybar", lambda line: json.loads(line)["text"] == "3" and json.loads(line)["class"] == "fine"),
            ("line", lambda line: line == "Groq: ≈ 3 requests left in this window"),
        ):
            lines = outputs[fmt].lines
            qtbot.waitUntil(arrived(lines, reset, wanted), timeout=3000)
            at, _ = first_at_or_after(lines, reset, wanted)
            assert at <= reset + WITHIN_S, (fmt, at - reset)
            before = [line for t, line in outputs[fmt].lines if t < reset - 0.05]
            assert before and not any(wanted(line) for line in before[-1:]), fmt

        # `status --json` asks the running gateway what it saw: the same refilled estimate, fine.
        (status,) = asyncio.run(poll_with_gateway(Engine([account], secrets), gateway.state.port, secrets))
        data = account_document(status)
        window = requests_meter(data)
        assert (data["state"], data["severity"], window["remaining"], window["freshness"], window["source"]) == (
            "ok", "fine", 3, "refilled", "traffic")
        assert datetime.fromisoformat(window["seen_at"].replace("Z", "+00:00")).timestamp() < reset
        assert sim.sim.count(key=key) == sent  # no traffic, no poll: time alone moved every output
    finally:
        bridge.loop_thread.submit(gateway.stop()).result(10)
        bridge.loop_thread.submit(engine.stop()).result(10)
