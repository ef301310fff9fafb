"""The demo is whole: with `traywidget --demo` running (a real tray under Xvfb), the command line's `--demo`
reaches that demo — `status` shows the streams its gateway holds, `kill` stops them, `watch` follows its
accounts, `gateway env` points a tool at its gateway — and the OpenAI SDK, the Anthropic SDK and curl all work
through it as a newcomer would use them. When the demo ends, it withdraws its address."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from contextlib import ExitStack

import pytest

from tests.conftest import require_tools
from tests.desktop_session import (
    app_command,
    app_env,
    background,
    dbus_session,
    free_port,
    sim_call,
    trayer,
    wait_until,
    xvfb,
)
from tests.e2e.cli import run_cli, start_cli
from tests.e2e.test_gateway_tray import StreamingClient, _held
from traywidget.demo import DEMO_FILE, DEMO_GATEWAY_TOKEN
from traywidget.simulator.demo_world import OPENROUTER_KEY

pytestmark = [pytest.mark.desktop, pytest.mark.slow]

TOOLS = ("dbus-daemon", "Xvfb", "trayer", "curl")

OPENAI_EXAMPLE = """
import os
from openai import OpenAI
client = OpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key=os.environ["OPENAI_API_KEY"])
for chunk in client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                            messages=[{"role": "user", "content": "Hello"}]):
    if chunk.choices:
        print(chunk.choices[0].delta.content or "", end="")
print()
"""
ANTHROPIC_EXAMPLE = """
import os
from anthropic import Anthropic
client = Anthropic(base_url=os.environ["ANTHROPIC_BASE_URL"], api_key=os.environ["ANTHROPIC_API_KEY"])
message = client.messages.create(model="claude-sonnet-4", max_tokens=64,
                                 messages=[{"role": "user", "content": "Hello"}])
print(message.content[0].text)
with client.messages.stream(model="claude-sonnet-4", max_tokens=64,
                            messages=[{"role": "user", "content": "Hello"}]) as stream:
    print("".join(stream.text_stream))
"""
CURL_EXAMPLE = """curl -sN "$OPENAI_BASE_URL/chat/completions" -H "Authorization: Bearer $OPENAI_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "Hello"}]}'"""


def in_shell(env: dict[str, str], account_id: str, command: str) -> subprocess.CompletedProcess:
    """`eval "$(traywidget --demo gateway env ACCOUNT_ID)"`, then `command`, as a user types them."""
    script = f'eval "$("{sys.executable}" -m traywidget --demo gateway env {account_id})" && {command}'
    return subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)


def test_the_cli_reaches_the_running_tray_demo_and_every_client_works_through_it(tmp_path):
    require_tools(*TOOLS)
    pytest.importorskip("openai")
    pytest.importorskip("anthropic")
    sim_port = free_port()
    app_log = tmp_path / "app.log"
    with ExitStack() as stack:
        bus = stack.enter_context(dbus_session(tmp_path / "home", services=[]))
        env = stack.enter_context(xvfb(bus, size="1024x768x24"))
        stack.enter_context(trayer(env))
        demo_env = app_env(env, tmp_path, f"tw-reach-{sim_port}", sim_port)
        app = stack.enter_context(background(app_command("--demo"), demo_env, app_log))

        def alive() -> None:
            assert app.poll() is None, f"the app exited ({app.returncode}):\n{app_log.read_text()}"

        told = wait_until(lambda: alive() or re.search(
            r"its local gateway listens on http://127\.0\.0\.1:(\d+)/ACCOUNT_ID", app_log.read_text()), 30,
            what="the demo's gateway told")
        gateway = int(told.group(1))
        assert ("From another terminal, `traywidget --demo status`, `--demo kill` and `--demo gateway env ACCOUNT_ID` "
                "reach this demo.") in app_log.read_text()
        announced = tmp_path / "cache" / DEMO_FILE
        assert announced.exists() and DEMO_GATEWAY_TOKEN not in announced.read_text()
        cli_env = {**demo_env, "LANGUAGE": "en"}

        # --- a long stream through the demo's gateway: `--demo status` sees it, `--demo kill` stops it
        sim_call(sim_port, "stream/script", {"key": OPENROUTER_KEY, "count": 1, "events": 100000, "interval_s": 0.05})
        client = StreamingClient(f"http://127.0.0.1:{gateway}/demo-openrouter/chat/completions", "openai/gpt-4o-mini")
        client.start()
        wait_until(lambda: _held(gateway) == {"demo-openrouter": 1}, 15, what="the gateway holding the stream")
        status = run_cli(cli_env, "--demo", "status", "--json")
        streams = {a["id"]: a["streams"] for a in json.loads(status.out)["accounts"]}
        assert streams["demo-openrouter"] == 1, status.out
        assert set(streams) == {"demo-routing-run", "demo-routing-run-low", "demo-routing-run-lite",
                                "demo-openrouter", "demo-routeway", "demo-litellm", "demo-deepseek", "demo-moonshot",
                                "demo-compatible"}
        killed = run_cli(cli_env, "--demo", "kill")
        assert killed.code == 0, killed.err
        assert client.ended.wait(10), "the stream did not end after `traywidget --demo kill`"
        assert _held(gateway) == {}

        # --- `--demo watch` follows the running demo's accounts
        watch = start_cli(cli_env, "--demo", "watch", "--format", "short")
        try:
            line = watch.stdout.readline()
        finally:
            watch.send_signal(signal.SIGTERM)
            watch.communicate(timeout=20)
        assert re.fullmatch(r"\S+( !)?\n", line), line

        # --- `gateway env` for the running demo, and every client as a newcomer uses it
        lines = run_cli(cli_env, "--demo", "gateway", "env", "demo-compatible").out.splitlines()
        base = f"http://127.0.0.1:{gateway}/demo-compatible"
        assert lines == [f"export OPENAI_BASE_URL={base}", f"export OPENAI_API_KEY={DEMO_GATEWAY_TOKEN}",
                         f"export ANTHROPIC_BASE_URL={base}", f"export ANTHROPIC_API_KEY={DEMO_GATEWAY_TOKEN}"]
        for account_id in ("demo-compatible", "demo-openrouter", "demo-routing-run"):
            openai_run = in_shell(cli_env, account_id, f'"{sys.executable}" -c \'{OPENAI_EXAMPLE}\'')
            assert openai_run.returncode == 0 and openai_run.stdout.strip(), (account_id, openai_run.stderr)
            curl_run = in_shell(cli_env, account_id, CURL_EXAMPLE)
            assert curl_run.returncode == 0 and curl_run.stdout.rstrip().endswith("data: [DONE]"), curl_run
        anthropic_run = in_shell(cli_env, "demo-compatible", f'"{sys.executable}" -c \'{ANTHROPIC_EXAMPLE}\'')
        assert anthropic_run.returncode == 0, anthropic_run.stderr
        assert len([line for line in anthropic_run.stdout.splitlines() if line.strip()]) == 2, anthropic_run.stdout

        # The demo gateway's 404 speaks of the demo's accounts, not of `traywidget accounts list`.
        missing = subprocess.run(["curl", "-s", "-H", f"Authorization: Bearer {DEMO_GATEWAY_TOKEN}",
                                  f"http://127.0.0.1:{gateway}/work/chat/completions"], capture_output=True, text=True,
                                 timeout=30)
        message = json.loads(missing.stdout)["error"]["message"]
        assert "one of the demo's account ids (demo-routing-run, " in message, message
        assert "`traywidget --demo gateway env ACCOUNT_ID`" in message and "accounts list" not in message

        # Its 401 says how to get the demo's token, not the user's.
        wrong = subprocess.run(["curl", "-s", "-H", "Authorization: Bearer nope",
                                f"http://127.0.0.1:{gateway}/demo-compatible/models"], capture_output=True, text=True,
                               timeout=30)
        assert "print it with `traywidget --demo gateway token`." in json.loads(wrong.stdout)["error"]["message"]
        token = run_cli(cli_env, "--demo", "gateway", "token")
        assert token.out == DEMO_GATEWAY_TOKEN + "\n"

        unknown = run_cli(cli_env, "--demo", "gateway", "env", "work")
        assert unknown.code == 2 and unknown.err == (
            "traywidget: The demo has no account 'work'; its accounts: demo-routing-run, demo-routing-run-low, "
            "demo-routing-run-lite, demo-openrouter, demo-routeway, demo-litellm, demo-deepseek, demo-moonshot, "
            "demo-compatible\n")

        app.send_signal(signal.SIGTERM)
        app.wait(20)
    assert not announced.exists()  # the demo withdrew its address: `--demo` commands start their own again
    alone = run_cli(cli_env, "--demo", "gateway", "env", "demo-compatible")
    assert alone.code == 2 and alone.err == (
        "traywidget: No tray demo with a gateway is running: start one with `traywidget --demo`\n")
