"""Keys a provider echoes back ("Rate limit reached for key gsk_…") are found nowhere.

The simulator answers every request of three accounts with a 429 whose message names the key the
request carried: a `gsk_` key, an `xai-` key and a plain 64-hex key (shapes the old masks did not
know). Those answers travel every way provider text travels, and the canaries are looked for in:

- the headless gateway (`traywidget gateway`, once plain and once with --debug): its stdout and
  stderr, and its /_traywidget/status;
- `traywidget status` and `status --json` (which also poll the accounts themselves);
- the tray app, with its gateway on and real notifications (Xvfb, trayer, dunst, dbus-monitor, a
  real gnome-keyring): every Notify call's summary and body, its --debug log, and every file it
  wrote (snapshots.json, history.sqlite3, the config);
- every file under the throwaway HOME and the config and cache directories.

Besides the whole key, its tail and a piece of its middle are looked for (a mask that keeps too much
is a leak too).
"""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_tools
from tests.desktop_session import (
    app_command,
    background,
    dbus_monitor,
    dbus_session,
    dunst,
    free_port,
    notify_calls,
    secret_service,
    stop_process,
    trayer,
    wait_until,
    xvfb,
)
from tests.e2e.cli import cli_env, run_cli
from tests.gateway.test_cli import _set_port
from traywidget.store.config import ConfigStore

pytestmark = [pytest.mark.slow]

CANARIES = {
    "groq": "gsk_" + "EcH0k3yC" * 6,
    "xai": "xai-" + "eCh0K3Yx" * 10,
    "hex": "ec40ca7e" * 8,
}
NOTIFY = "interface='org.freedesktop.Notifications',member='Notify'"


def _pieces(secret: str) -> list[str]:
    return [secret, secret[-12:], secret[6:18]]


def _leaks(text: str) -> list[str]:
    folded = text.lower()
    return sorted({piece for secret in CANARIES.values() for piece in _pieces(secret) if piece.lower() in folded})


def _files_with_leaks(*roots: Path) -> dict[str, list[str]]:
    found = {}
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                try:
                    leaks = _leaks(path.read_bytes().decode("latin-1"))
                except OSError:
                    continue
                if leaks:
                    found[str(path)] = leaks
    return found


def _setup(env: dict[str, str], sim, faults: dict[str, str]) -> None:
    for account_id, key in CANARIES.items():
        if sim.sim.provider_of(key) is None:
            sim.sim.add_openai_compatible_key(key=key)
        sim.sim.clear(key)
        fault = faults[account_id]
        params = {"retry_after": 30} if fault == "status_429" else {}
        sim.sim.inject(key, fault, echo_key=True, **params)  # until cleared: every request
        added = run_cli(env, "accounts", "add", "openai-compatible", "--id", account_id, "--base-url",
                        sim.url("openai-compatible"))
        assert added.code == 0, added.err
        assert run_cli(env, "keys", "set", account_id, stdin=key + "\n").code == 0


ALL_429 = dict.fromkeys(CANARIES, "status_429")
# For the tray: refusals whose notifications carry the provider's words (a 429 with its window's
# headers is told as the window, in traywidget's words).
MIXED = {"groq": "status_401", "xai": "status_402", "hex": "status_429"}
ECHO = {"status_429": "Rate limit reached for key ", "status_401": "Refused for key ", "status_402": "Refused for key "}


def _through(port: int, token: str, faults: dict[str, str]) -> list[str]:
    """A plain and a streamed request for every account through the gateway on `port`: what came back."""
    seen = []
    with httpx.Client(timeout=20) as client:
        for account_id in CANARIES:
            for stream in (False, True):
                reply = client.post(f"http://127.0.0.1:{port}/{account_id}/chat/completions",
                                    headers={"Authorization": f"Bearer {token}"},
                                    json={"model": "m", "messages": [], "stream": stream})
                assert reply.status_code == int(faults[account_id][-3:]), reply.text
                assert ECHO[faults[account_id]] in reply.text
                seen.append(reply.text)
        status = client.get(f"http://127.0.0.1:{port}/_traywidget/status", headers={"Authorization": f"Bearer {token}"})
        assert status.status_code == 200
        observed = status.json()["observations"]
        assert {o["account_id"] for o in observed} == set(CANARIES)
        assert all(o["error"]["message"].startswith(ECHO[faults[o["account_id"]]]) for o in observed)
        seen.append(status.text)
    return seen


def test_echoed_keys_are_found_nowhere(keyring_home, sim, tmp_path):
    home, keyring_env = keyring_home
    env = cli_env(keyring_env, tmp_path)
    _setup(env, sim, ALL_429)
    token = run_cli(env, "gateway", "token").out.strip()
    printed: list[str] = []
    for debug in (False, True):
        port = free_port()
        gateway = subprocess.Popen([sys.executable, "-m", "traywidget", *(["--debug"] if debug else []), "gateway",
                                    "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        try:
            wait_until(lambda port=port, gateway=gateway: _listening(port) or gateway.poll() is not None, 20,
                       what="the headless gateway")
            printed += _through(port, token, ALL_429)
            _set_port(env, port)
            status = run_cli(env, "--debug", "status", "--json") if debug else run_cli(env, "status", "--json")
            accounts = json.loads(status.out)["accounts"]
            assert {a["id"]: a["error"]["message"].startswith("Rate limit reached for key ")
                    for a in accounts} == dict.fromkeys(CANARIES, True)
            table = run_cli(env, "status")
            assert "Rate limit reached for key " in table.out
            printed += [status.out, status.err, table.out, table.err]
        finally:
            gateway.terminate()
            out, err = gateway.communicate(timeout=20)
        printed += [out, err]
        if debug:
            assert " DEBUG " in err, "debug logging was not on, so it was not tested"
        assert " INFO " in err or not debug
    everything = "\n".join(printed)
    assert _leaks(everything) == [], everything[:2000]
    assert _files_with_leaks(tmp_path, home) == {}
    # They did go where they belong: each to its provider, in its auth header.
    assert {r.key for r in sim.sim.requests(provider="openai-compatible")} >= set(CANARIES.values())


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_echoed_keys_reach_no_notification_snapshot_history_or_log_of_the_tray_app(sim, tmp_path):
    require_tools("dbus-daemon", "gnome-keyring-daemon", "Xvfb", "trayer", "dunst", "dbus-monitor")
    home = tmp_path / "home"
    monitor_log, app_log = tmp_path / "notify.log", tmp_path / "app.log"
    with ExitStack() as stack:
        bus_env = stack.enter_context(dbus_session(home))
        keyring_env = stack.enter_context(secret_service(bus_env))
        env = cli_env(stack.enter_context(xvfb(keyring_env)), tmp_path)
        stack.enter_context(trayer(env))
        stack.enter_context(dunst(env, tmp_path / "dunst.log"))
        stack.enter_context(dbus_monitor(env, NOTIFY, monitor_log))
        _setup(env, sim, MIXED)
        port = free_port()
        store = ConfigStore(Path(env["TRAYWIDGET_CONFIG_DIR"]))
        config = store.load()
        store.save(type(config)(accounts=config.accounts, settings=type(config.settings)(
            gateway_enabled=True, gateway_port=port)))
        token = run_cli(env, "gateway", "token").out.strip()
        app = stack.enter_context(background(app_command("--debug"), {**env, "TRAYWIDGET_INSTANCE_NAME":
                                                                     f"tw-canary-{port}"}, app_log))
        wait_until(lambda: app.poll() is not None or _listening(port), 30, what="the tray's gateway")
        assert app.poll() is None, app_log.read_text()
        seen = _through(port, token, MIXED)

        def told() -> dict[str, dict]:
            """The latest notification about each account, by the label its summary starts with."""
            return {account_id: call for call in notify_calls(monitor_log.read_text()) for account_id in CANARIES
                    if call["summary"].startswith(f"{account_id}: ")}

        # Each account's refusal is told (by traffic or by its poll, whichever came first).
        wait_until(lambda: len(told()) == len(CANARIES), 60, interval=0.25, what="a notification for every account")
        notes = told()
        stop_process(app, timeout=20)  # it saves its snapshots on the way out
        monitor_text = monitor_log.read_text()
    cache = Path(env["TRAYWIDGET_CACHE_DIR"])
    saved = json.loads((cache / "snapshots.json").read_text())["accounts"]
    assert {a["id"]: a["state"] for a in saved} == {"groq": "auth_error", "xai": "payment_required",
                                                             "hex": "rate_limited"}
    assert (cache / "history.sqlite3").stat().st_size > 0
    # The provider's words were shown, with the key masked.
    assert notes["groq"]["body"].startswith("Refused for key gsk_…"), notes
    assert notes["xai"]["body"].startswith("Refused for key xai-…"), notes
    files = _files_with_leaks(tmp_path)
    assert files == {}, files
    assert _leaks("\n".join(seen) + monitor_text + app_log.read_text()) == []
