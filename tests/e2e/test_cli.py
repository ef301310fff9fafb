"""The command line end to end: a real subprocess, the real keyring API on a
real Secret Service, real HTTP to the simulator."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from tests.e2e.cli import cli_env, run_cli


@pytest.fixture
def env(keyring_home, tmp_path):
    _, keyring_env = keyring_home
    return cli_env(keyring_env, tmp_path)


def add_account(env, sim, provider: str, account_id: str, api_key: str, management_key: str | None = None):
    r = run_cli(env, "accounts", "add", provider, "--id", account_id, "--label", account_id.title(),
                "--base-url", sim.url(provider))
    assert r.code == 0, r.err
    r = run_cli(env, "keys", "set", account_id, stdin=api_key + "\n")
    assert r.code == 0, r.err
    assert "SecretService" in r.out
    if management_key:
        r = run_cli(env, "keys", "set", account_id, "--management", stdin=management_key + "\n")
        assert r.code == 0, r.err


def test_accounts_add_list_remove(env, sim):
    key = sim.sim.add_routing_key("Premium")
    add_account(env, sim, "routing.run", "main", key)
    listed = json.loads(run_cli(env, "accounts", "list", "--json").out)
    assert listed == {"accounts": [{"id": "main", "provider": "routing.run", "label": "Main",
                                    "base_url": sim.url("routing.run")}]}
    table = run_cli(env, "accounts", "list").out
    assert "main" in table and "routing.run" in table
    dup = run_cli(env, "accounts", "add", "routing.run", "--id", "main")
    assert dup.code == 2 and "exists already" in dup.err
    removed = run_cli(env, "accounts", "remove", "main")
    assert removed.code == 0 and "deleted from the keyring" in removed.out
    assert json.loads(run_cli(env, "accounts", "list", "--json").out) == {"accounts": []}


def test_bad_input_gets_clear_messages(env, sim):
    cases = [
        (("accounts", "add", "routing.run", "--id", "x", "--base-url", "http://example.com/v1"), "Plain http is refused"),
        (("accounts", "add", "nope", "--id", "x"), "invalid choice"),
        (("accounts", "add", "openrouter", "--id", "bad id"), "account id"),
        (("keys", "set", "ghost"), "no account with id 'ghost'"),
        (("accounts", "remove", "ghost"), "no account with id 'ghost'"),
        (("status",), "no accounts configured"),
        (("accounts", "add", "openrouter", "--id", "fast", "--fast-interval", "1"), "between 10 s"),
    ]
    for args, message in cases:
        r = run_cli(env, *args)
        assert r.code == 2, (args, r.err)
        assert message in r.err, (args, r.err)
        assert "Traceback" not in r.err
    run_cli(env, "accounts", "add", "routing.run", "--id", "x", "--base-url", sim.url("routing.run"))
    empty = run_cli(env, "keys", "set", "x", stdin="\n")
    assert empty.code == 2 and "nothing was saved" in empty.err


def test_status_json_covers_all_providers(env, sim):
    s = sim.sim
    add_account(env, sim, "routing.run", "rr", s.add_routing_key("Premium"))
    or_key = s.add_openrouter_key(limit=10.0, limit_reset="daily")
    add_account(env, sim, "openrouter", "or", or_key, s.add_management_key(or_key))
    rw_key = s.add_routeway_key(daily_limit=200, minute_limit=5)
    add_account(env, sim, "routeway", "rw", rw_key, s.add_management_key(rw_key))
    add_account(env, sim, "routeway", "rw-nomgmt", s.add_routeway_key())
    r = run_cli(env, "status", "--json")
    assert r.code == 0, r.err
    data = {a["id"]: a for a in json.loads(r.out)["accounts"]}
    assert set(data) == {"rr", "or", "rw", "rw-nomgmt"}
    for account in data.values():
        assert set(account) == {"id", "provider", "label", "state", "plan", "meters", "error", "fetched_at",
                                "notes", "stale", "streams"}
        for meter in account["meters"]:
            assert set(meter) == {"name", "unit", "used", "limit", "remaining", "resets_at", "source", "seen_at"}
            assert meter["source"] == "poll" and meter["seen_at"] is None
    assert {m["name"] for m in data["rr"]["meters"]} == {"requests_minute", "requests_hour", "requests_day"}
    assert data["rr"]["plan"] == "Premium" and data["rr"]["state"] == "ok"
    assert {m["name"] for m in data["or"]["meters"]} >= {"credits", "free_requests_day", "balance"}
    credits = next(m for m in data["or"]["meters"] if m["name"] == "credits")
    assert credits["unit"] == "usd" and credits["limit"] == 10.0
    assert {m["name"] for m in data["rw"]["meters"]} >= {"requests_minute", "requests_day", "balance"}
    assert data["rw-nomgmt"]["meters"] == [] and data["rw-nomgmt"]["state"] == "ok"
    assert any("management key" in note for note in data["rw-nomgmt"]["notes"])
    table = run_cli(env, "status")
    assert "requests_hour" in table.out and "management key" in table.out


def test_status_reports_auth_errors_with_exit_code_1(env, sim):
    add_account(env, sim, "routing.run", "wrong", "rk_" + "0" * 64)
    r = run_cli(env, "status", "--json")
    assert r.code == 1
    (account,) = json.loads(r.out)["accounts"]
    assert account["state"] == "auth_error"
    assert account["error"]["http_status"] == 401 and account["error"]["message"] == "Invalid API key"


def test_kill_stops_streams_and_names_unsupported(env, sim):
    s = sim.sim
    rr = s.add_routing_key("Premium")
    add_account(env, sim, "routing.run", "rr", rr)
    add_account(env, sim, "openrouter", "or", s.add_openrouter_key())
    handles = [s.open_stream(rr, max_tokens=10_000) for _ in range(2)]
    assert len(s.active_streams(rr)) == 2
    r = run_cli(env, "kill", "--json")
    assert r.code == 0, r.err
    results = {a["id"]: a for a in json.loads(r.out)["accounts"]}
    assert results["rr"] == {"id": "rr", "supported": True, "killed_streams": 2, "error": None}
    assert results["or"] == {"id": "or", "supported": False, "killed_streams": None, "error": None}
    text = run_cli(env, "kill").out
    assert "No streams were running." in text  # the first kill stopped them
    assert ("Cannot stop streams on Or from here: the provider has no kill API "
            "(they end when your tool closes them).") in text
    assert handles


def test_watch_prints_a_line_per_change_and_stops_on_sigterm(env, sim):
    s = sim.sim
    rr = s.add_routing_key("Premium")
    add_account(env, sim, "routing.run", "rr", rr)
    proc = subprocess.Popen([sys.executable, "-m", "traywidget", "watch", "--json"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(proc.stdout.readline())
        assert first["id"] == "rr" and first["state"] == "ok"
    finally:
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_status_demo_needs_no_keyring(tmp_path):
    env = cli_env({**__import__("os").environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}, tmp_path)
    r = run_cli(env, "status", "--json", "--demo")
    assert r.code == 0, r.err  # every demo account answers
    providers = {a["provider"] for a in json.loads(r.out)["accounts"]}
    assert providers == {"routing.run", "openrouter", "routeway"}
    assert not (tmp_path / "config").exists()


def test_no_keyring_is_a_clear_error(tmp_path, sim):
    env = cli_env({**__import__("os").environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}, tmp_path)
    run_cli(env, "accounts", "add", "routing.run", "--id", "x", "--base-url", sim.url("routing.run"))
    r = run_cli(env, "keys", "set", "x", stdin="rk_" + "1" * 64 + "\n")
    assert r.code == 3
    assert "No usable keyring" in r.err and "never in a file" in r.err
    assert "Traceback" not in r.err
    assert "1" * 64 not in r.err + r.out


def test_purge_leaves_only_the_config(env, sim, tmp_path):
    s = sim.sim
    add_account(env, sim, "routing.run", "rr", s.add_routing_key())
    or_key = s.add_openrouter_key()
    add_account(env, sim, "openrouter", "or", or_key, s.add_management_key(or_key))
    probe = ("from traywidget.core.secrets import KeyringSecretStore; keys = KeyringSecretStore().read_all(); "
             "print(sum(u in keys for u in ('rr:api', 'or:api', 'or:management')))")

    def keys_left() -> str:
        result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=30)
        return result.stdout.strip()

    assert keys_left() == "3"
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    (cache / "snapshots.json").write_text("{}")
    dry = run_cli(env, "purge")
    assert dry.code == 0 and "Would delete" in dry.out
    assert keys_left() == "3" and (cache / "snapshots.json").exists()
    done = run_cli(env, "purge", "--yes")
    assert done.code == 0, done.err
    assert keys_left() == "0"
    assert not cache.exists()
    assert (tmp_path / "config" / "config.json").exists()


def test_keys_set_on_a_terminal_prompts_without_echo(env, sim):
    """On a terminal the key is asked for with a hidden prompt: typed, never shown."""
    import os
    import pty
    import select

    run_cli(env, "accounts", "add", "routing.run", "--id", "tty", "--base-url", sim.url("routing.run"))
    secret = "rk_" + "7e" * 32
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real CLI on a pseudo-terminal
        os.execvpe(sys.executable, [sys.executable, "-m", "traywidget", "keys", "set", "tty"], env)
    seen = b""

    def read_until(marker: bytes, timeout: float = 20) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while marker not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(fd, 4096)
                except OSError:
                    break

    read_until(b"API key for tty:")
    assert b"API key for tty:" in seen
    os.write(fd, secret.encode() + b"\n")
    read_until(b"keyring")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert b"Saved the API key of tty" in seen
    assert secret.encode() not in seen
