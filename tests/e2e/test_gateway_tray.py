"""The local gateway inside the real tray app, end to end.

Xvfb + trayer + dunst on a private D-Bus session, dbus-monitor counting Notify calls, and
`python -m traywidget --demo` (whose gateway runs on a free port with the demo's fixed token). A client
streams through the gateway on the demo's OpenRouter account (a provider with no kill API of its own);
"Kill all streams" picked from the real tray menu ends the client's stream with the stopped-from-traywidget
event and closes the upstream, the gateway then holds no stream, and the notification says where streams
were stopped, at normal urgency. A 429 sent mid-stream by routing.run
("Concurrent stream limit exceeded") through the gateway raises exactly one notification, and two more
polls of the account do not repeat it. A hold set through the gateway's control API refuses the next
request at once (423, not retried), and "Resume requests" picked from the real menu lets the next one through.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from contextlib import ExitStack

import httpx
import pytest

from tests.conftest import require_tools
from tests.desktop_session import (
    app_command,
    app_env,
    background,
    dbus_monitor,
    dbus_session,
    docked_icon,
    dunst,
    free_port,
    mapped,
    notify_calls,
    override_redirect,
    sim_call,
    trayer,
    wait_until,
    x,
    x_windows,
    xvfb,
)
from traywidget.demo import DEMO_GATEWAY_TOKEN
from traywidget.simulator.demo_world import OPENROUTER_KEY, ROUTING_KEY

pytestmark = [pytest.mark.desktop, pytest.mark.slow]

TOOLS = ("dbus-daemon", "Xvfb", "trayer", "xdotool", "xwininfo", "dunst", "dbus-monitor", "import", "curl")
NOTIFY = "interface='org.freedesktop.Notifications',member='Notify'"
DOWN_TO_KILL_ALL = 2  # Show usage…, ---, Kill all streams (QMenu skips separators)
AUTH = {"Authorization": f"Bearer {DEMO_GATEWAY_TOKEN}"}


def _gateway_port(log_text: str) -> int | None:
    match = re.search(r"Gateway listening on http://127\.0\.0\.1:(\d+)", log_text)
    return int(match.group(1)) if match else None


def _held(gateway_port: int) -> dict[str, int]:
    reply = httpx.get(f"http://127.0.0.1:{gateway_port}/_traywidget/status", headers=AUTH, timeout=5)
    reply.raise_for_status()
    return {account: n for account, n in reply.json()["streams"].items() if n}


class StreamingClient(threading.Thread):
    """A tool streaming a chat completion through the gateway, keeping every event it receives."""

    def __init__(self, url: str, model: str) -> None:
        super().__init__(daemon=True)
        self.url, self.model = url, model
        self.events: list[str] = []
        self.ended = threading.Event()

    def run(self) -> None:
        body = {"model": self.model, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        try:
            with httpx.stream("POST", self.url, json=body, headers=AUTH, timeout=60) as response:
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        self.events.append(line[6:])
        finally:
            self.ended.set()


def test_a_stream_through_the_trays_gateway_is_stopped_from_the_menu_and_a_429_notifies_once(tmp_path):
    require_tools(*TOOLS)
    sim_port = free_port()
    app_log = tmp_path / "app.log"
    monitor_log = tmp_path / "monitor.log"
    with ExitStack() as stack:
        bus = stack.enter_context(dbus_session(tmp_path / "home", services=[]))
        env = stack.enter_context(xvfb(bus, size="1024x768x24"))
        stack.enter_context(trayer(env))
        stack.enter_context(dunst(env, tmp_path / "dunst.log"))
        stack.enter_context(dbus_monitor(env, NOTIFY, monitor_log))
        app = stack.enter_context(background(app_command("--demo", "--debug"),
                                             app_env(env, tmp_path, f"tw-gw-{sim_port}", sim_port), app_log))

        def alive() -> None:
            assert app.poll() is None, f"the app exited ({app.returncode}):\n{app_log.read_text()}"

        gateway = wait_until(lambda: alive() or _gateway_port(app_log.read_text()), 30, what="the gateway")
        geometry = wait_until(lambda: alive() or docked_icon(env), 20, what="the icon docked")
        base = f"http://127.0.0.1:{gateway}"
        # The demo says where its gateway is, and the line it gives to try works as printed.
        try:
            told = wait_until(lambda: alive() or re.search(
                r"traywidget demo: its local gateway listens on http://127\.0\.0\.1:(\d+)/ACCOUNT_ID .*\n  (curl .*)\n",
                app_log.read_text()), 30, what="the demo's gateway told")
        except TimeoutError as timeout:  # say what the app did say instead
            raise AssertionError(f"{timeout}; the app's log ends:\n{app_log.read_text()[-4000:]}") from None
        assert int(told.group(1)) == gateway
        told_gateway = told.group(0)
        tried = subprocess.run(["sh", "-c", told.group(2) + " -s"], capture_output=True, text=True, timeout=30)
        assert json.loads(tried.stdout)["object"] == "chat.completion", tried.stdout + tried.stderr

        # --- a long stream on OpenRouter (no kill API: only the gateway can stop it)
        sim_call(sim_port, "stream/script", {"key": OPENROUTER_KEY, "count": 1, "events": 100000, "interval_s": 0.05})
        client = StreamingClient(f"{base}/demo-openrouter/chat/completions", "openai/gpt-4o-mini")
        client.start()
        wait_until(lambda: len(client.events) >= 3, 15, what="events through the gateway")
        wait_until(lambda: _held(gateway) == {"demo-openrouter": 1}, 10, what="the gateway holding the stream")

        # --- Kill all streams from the real menu
        before_ids = {w["id"] for w in x_windows(env)}
        x(env, "xdotool", "mousemove", str(geometry["x"] + geometry["w"] // 2), str(geometry["y"] + geometry["h"] // 2))
        x(env, "xdotool", "click", "3")
        wait_until(lambda: any(w["id"] not in before_ids and w["w"] > 100 and override_redirect(env, w["id"])
                               and mapped(env, w["id"]) for w in x_windows(env)), 5, what="the context menu")
        x(env, "xdotool", "key", "--delay", "120", *(["Down"] * DOWN_TO_KILL_ALL), "Return")

        assert client.ended.wait(10), "the client's stream did not end after Kill all streams"
        stop = json.loads(client.events[-2]) if client.events[-1] == "[DONE]" else json.loads(client.events[-1])
        assert "stopped from traywidget" in stop["error"]["message"].lower(), client.events[-3:]
        assert _held(gateway) == {}
        wait_until(lambda: sim_call(sim_port, f"streams?key={OPENROUTER_KEY}")["streams"]["active"] == 0, 5,
                   what="the upstream stream closed at the simulator")
        # The summary says where each stream was stopped: the gateway's, and the one routing.run's kill API
        # stopped (the demo keeps one running there); and what cannot be stopped from here. At normal
        # urgency: the answer to a click, not dimmed.
        summary = wait_until(lambda: next((c for c in notify_calls(monitor_log.read_text())
                                           if c["summary"].startswith("Stopped ")), None), 10, what="the kill summary")
        assert summary["summary"] == (
            "Stopped 1 stream through the gateway (OpenRouter 1) and 1 on routing.run · Premium"), summary
        assert summary["body"] == (  # the providers, each once, not the accounts
            "Streams your tools opened directly to OpenRouter, Routeway, LiteLLM, DeepSeek, Moonshot (Kimi) or "
            "OpenAI-compatible cannot be stopped from here.")
        assert re.search(r'string "urgency"\s+variant\s+byte 1\b', summary["raw"]), summary["raw"]

        # --- a 429 in the middle of a routing.run stream, through the gateway: one notification
        sim_call(sim_port, "stream/script", {"key": ROUTING_KEY, "count": 1, "events": 5, "error_after": 2,
                                             "error": "concurrent"})
        refused = StreamingClient(f"{base}/demo-routing-run/chat/completions", "gpt-4o-mini")
        refused.start()
        assert refused.ended.wait(15)
        assert any("Concurrent stream limit exceeded" in e for e in refused.events), refused.events

        def told() -> list[str]:
            return [c["summary"] for c in notify_calls(monitor_log.read_text())
                    if c["summary"].startswith("routing.run · Premium:") and "(429)" in c["summary"]]

        wait_until(lambda: alive() or told(), 15, what="the 429 notification")
        polls = sim_call(sim_port, f"requests?key={ROUTING_KEY}")["count"]
        wait_until(lambda: alive() or sim_call(sim_port, f"requests?key={ROUTING_KEY}")["count"] >= polls + 2, 60,
                   interval=0.5, what="two more polls of the account")
        alive()
        assert len(told()) == 1, told()

        # --- a hold (the control API's kill, as `traywidget kill --hold-until-resume` sends it): the gateway
        # refuses at once, the menu offers "Resume requests", and picking it lets the next request through
        ask = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
        chat = f"{base}/demo-openrouter/chat/completions"
        held = httpx.post(f"{base}/_traywidget/kill", headers=AUTH, json={"hold": True, "minutes": None}, timeout=10)
        assert held.json()["held"]["demo-openrouter"] == "resume", held.text
        refused = httpx.post(chat, headers=AUTH, json=ask, timeout=10)
        assert (refused.status_code, refused.headers["x-should-retry"]) == (423, "false"), refused.text
        before_ids = {w["id"] for w in x_windows(env)}
        x(env, "xdotool", "mousemove", str(geometry["x"] + geometry["w"] // 2), str(geometry["y"] + geometry["h"] // 2))
        x(env, "xdotool", "click", "3")
        wait_until(lambda: any(w["id"] not in before_ids and w["w"] > 100 and override_redirect(env, w["id"])
                               and mapped(env, w["id"]) for w in x_windows(env)), 5, what="the context menu")
        x(env, "xdotool", "key", "--delay", "120", *(["Down"] * (DOWN_TO_KILL_ALL + 1)), "Return")
        wait_until(lambda: alive() or httpx.post(chat, headers=AUTH, json=ask, timeout=10).status_code == 200, 10,
                   what="requests through again after Resume requests")
        log = app_log.read_text()
    # The demo's public token (README) only where the demo prints it on purpose: never logged.
    assert log.count(told_gateway) == 1
    assert DEMO_GATEWAY_TOKEN not in log.replace(told_gateway, "")
