"""The command line end to end: a real subprocess, the real keyring API on a
real Secret Service, real HTTP to the simulator, real pipes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest

from tests.e2e.cli import cli_env, run_cli, start_cli

pytestmark = pytest.mark.slow  # every test runs the CLI as a subprocess

PIPE_CLOSED = 141  # documented in docs/cli.md: what a command returns when its reader went away

STATUS_KEYS = {"id", "provider", "label", "state", "plan", "meters", "error", "fetched_at", "notes", "stale",
               "streams", "severity", "held_until", "held_by", "gateway_usage", "rails"}
METER_KEYS = {"name", "unit", "used", "limit", "remaining", "resets_at", "source", "seen_at", "freshness"}


@pytest.fixture
def env(keyring_home, tmp_path):
    _, keyring_env = keyring_home
    return cli_env(keyring_env, tmp_path)


@pytest.fixture
def no_keyring_env(tmp_path):
    return cli_env({**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}, tmp_path)


def add_account(env, sim, provider: str, account_id: str, api_key: str, management_key: str | None = None):
    r = run_cli(env, "accounts", "add", provider, "--id", account_id, "--label", account_id.title(),
                "--base-url", sim.url(provider))
    assert r.code == 0, r.err
    r = run_cli(env, "keys", "set", account_id, stdin=api_key + "\n")
    assert r.code == 0, r.err
    assert r.out == f"Saved the API key of {account_id} in the keyring (Secret Service).\n"
    if management_key:
        r = run_cli(env, "keys", "set", account_id, "--management", stdin=management_key + "\n")
        assert r.code == 0, r.err


def meters_by_name(account: dict) -> dict[str, tuple]:
    return {m["name"]: (m["unit"], m["used"], m["limit"], m["remaining"]) for m in account["meters"]}


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- accounts and keys ---------------------------------------------------------------------------


def test_accounts_add_list_remove(env, sim):
    key = sim.sim.add_routing_key("Premium")
    add_account(env, sim, "routing.run", "main", key)
    listed = json.loads(run_cli(env, "accounts", "list", "--json").out)
    assert listed == {"accounts": [{"id": "main", "provider": "routing.run", "label": "Main",
                                    "base_url": sim.url("routing.run")}]}
    table = run_cli(env, "accounts", "list").out.splitlines()
    assert table[0].split() == ["ID", "PROVIDER", "LABEL", "BASE", "URL"]
    assert table[1].split() == ["main", "routing.run", "Main", sim.url("routing.run")]
    dup = run_cli(env, "accounts", "add", "routing.run", "--id", "main")
    assert dup.code == 2 and dup.err == "traywidget: An account with id 'main' exists already\n"
    removed = run_cli(env, "accounts", "remove", "main")
    assert removed.code == 0
    assert removed.out == "Removed main.\nIts keys were deleted from the keyring.\n"
    assert json.loads(run_cli(env, "accounts", "list", "--json").out) == {"accounts": []}


@pytest.mark.parametrize("typed", ["OpenRouter", "OPENROUTER", "openrouter"])
def test_provider_ids_are_case_insensitive(no_keyring_env, typed):
    r = run_cli(no_keyring_env, "accounts", "add", typed, "--id", "or")
    assert r.code == 0, r.err
    assert r.out.startswith("Added or (OpenRouter, https://openrouter.ai/api/v1).")
    (account,) = json.loads(run_cli(no_keyring_env, "accounts", "list", "--json").out)["accounts"]
    assert account["provider"] == "openrouter"


def test_a_base_url_of_another_host_is_added_with_a_warning_and_the_fix(no_keyring_env):
    r = run_cli(no_keyring_env, "accounts", "add", "routeway", "--id", "rw", "--base-url", "https://routeway.ai/v1")
    assert r.code == 0, r.err
    assert r.err == (
        "traywidget: warning: routeway.ai is not an API host of Routeway (expected api.routeway.ai); your key "
        "would be sent to it.\n"
        "traywidget: to use https://api.routeway.ai/v1 instead: traywidget accounts remove rw && traywidget "
        "accounts add routeway --id rw --base-url https://api.routeway.ai/v1\n")
    fine = run_cli(no_keyring_env, "accounts", "add", "routing.run", "--id", "rr", "--base-url",
                   "https://api.routing.sh/v1")  # the documented mirror
    assert fine.code == 0 and fine.err == ""


def test_another_providers_host_is_refused_unless_forced(no_keyring_env):
    args = ("accounts", "add", "routeway", "--id", "rw", "--base-url", "https://openrouter.ai/api/v1")
    refused = run_cli(no_keyring_env, *args)
    assert refused.code == 2 and refused.out == ""
    assert refused.err == (
        "traywidget: openrouter.ai is the API host of OpenRouter, not of Routeway: your Routeway key would be sent "
        "to OpenRouter. Nothing was added. Leave out --base-url for Routeway's own, or add --force to keep this "
        "one.\n")
    assert json.loads(run_cli(no_keyring_env, "accounts", "list", "--json").out) == {"accounts": []}
    forced = run_cli(no_keyring_env, *args, "--force")
    assert forced.code == 0, forced.err
    assert forced.err.startswith("traywidget: warning: openrouter.ai is the API host of OpenRouter, not of Routeway")
    (account,) = json.loads(run_cli(no_keyring_env, "accounts", "list", "--json").out)["accounts"]
    assert account["base_url"] == "https://openrouter.ai/api/v1"


def test_bad_input_gets_clear_messages(env, sim):
    cases = [
        (("accounts", "add", "routing.run", "--id", "x", "--base-url", "http://example.com/v1"),
         "Plain http is refused"),
        (("accounts", "add", "nope", "--id", "x"), "traywidget: Argument PROVIDER: invalid choice: 'nope'"),
        (("accounts", "add", "openrouter", "--id", "bad id"), "account id"),
        (("keys", "set", "ghost"), "traywidget: No account with id 'ghost'"),
        (("accounts", "remove", "ghost"), "traywidget: No account with id 'ghost'"),
        (("status",), "traywidget: No accounts configured"),
        (("accounts", "add", "openrouter", "--id", "fast", "--fast-interval", "1"), "between 10 s"),
        (("--demo", "accounts", "list"), ("--demo works with the tray (`traywidget --demo`) and with status, "
                                          "watch, kill, resume, gateway env, gateway token, not with accounts")),
        (("--demo", "gateway"), ("--demo works with the tray (`traywidget --demo`) and with status, "
                                 "watch, kill, resume, gateway env, gateway token, not with gateway")),
    ]
    for args, message in cases:
        r = run_cli(env, *args)
        assert r.code == 2, (args, r.err)
        assert message in r.err, (args, r.err)
        assert "Traceback" not in r.err
    run_cli(env, "accounts", "add", "routing.run", "--id", "x", "--base-url", sim.url("routing.run"))
    empty = run_cli(env, "keys", "set", "x", stdin="\n")
    assert empty.code == 2
    assert empty.err == "traywidget: No API key given on standard input; nothing was saved\n"


def test_a_corrupt_config_is_exit_2_and_kept_aside(no_keyring_env, tmp_path):
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    corrupt = b'{"version": 1, "accounts": [{"id": "work"'
    (config_dir / "config.json").write_bytes(corrupt)
    first = run_cli(no_keyring_env, "accounts", "list", "--json")
    (aside,) = config_dir.glob("config.json.corrupt-*")
    assert first.code == 2 and first.out == ""
    assert first.err.startswith(f"traywidget: The config file {config_dir / 'config.json'} could not be read")
    assert aside.name in first.err and "Traceback" not in first.err
    assert aside.read_bytes() == corrupt
    # The file was kept aside: from now on the config is empty, and says so plainly.
    again = run_cli(no_keyring_env, "accounts", "list", "--json")
    assert again.code == 0 and json.loads(again.out) == {"accounts": []} and again.err == ""


def test_no_keyring_is_a_clear_error(no_keyring_env, sim):
    run_cli(no_keyring_env, "accounts", "add", "routing.run", "--id", "x", "--base-url", sim.url("routing.run"))
    r = run_cli(no_keyring_env, "keys", "set", "x", stdin="rk_" + "1" * 64 + "\n")
    assert r.code == 3
    assert "No usable keyring" in r.err and "never in a file" in r.err
    assert "Traceback" not in r.err
    assert "1" * 64 not in r.err + r.out


def test_status_and_kill_without_a_keyring_exit_3(no_keyring_env, sim):
    """docs/cli.md: 3 when the keyring is missing, for the commands that read keys too."""
    run_cli(no_keyring_env, "accounts", "add", "routing.run", "--id", "x", "--base-url", sim.url("routing.run"))
    status = run_cli(no_keyring_env, "status", "--json")
    assert status.code == 3, status.err
    (account,) = json.loads(status.out)["accounts"]
    assert (account["state"], account["error"]["code"]) == ("error", "KEYRING")
    assert "No usable keyring" in account["error"]["message"]
    kill = run_cli(no_keyring_env, "kill")
    assert kill.code == 3 and "No usable keyring" in kill.out
    assert sim.sim.count() == 0  # no key, no request


def test_a_keyring_backend_that_cannot_be_loaded_is_told_not_a_traceback(tmp_path, sim):
    env = cli_env({**os.environ, "PYTHON_KEYRING_BACKEND": "nonexistent.Keyring"}, tmp_path)
    run_cli(env, "accounts", "add", "routing.run", "--id", "x", "--base-url", sim.url("routing.run"))
    told = ("The keyring backend chosen by PYTHON_KEYRING_BACKEND=nonexistent.Keyring cannot be loaded "
            "(No module named 'nonexistent').")
    for args, stdin in ((("keys", "set", "x"), "rk_" + "2" * 64 + "\n"), (("gateway", "token"), None)):
        r = run_cli(env, *args, stdin=stdin)
        assert (r.code, "Traceback" in r.err) == (3, False), r.err
        assert told in r.err
    status = run_cli(env, "status", "--json")
    assert (status.code, "Traceback" in status.err) == (3, False), status.err
    (account,) = json.loads(status.out)["accounts"]
    assert account["error"]["code"] == "KEYRING" and account["error"]["message"].startswith(told)
    doctor = run_cli(env, "doctor")
    assert told in doctor.out and "Traceback" not in doctor.err
    assert sim.sim.count() == 0


def test_keys_set_on_a_terminal_prompts_without_echo(env, sim):
    """On a terminal the key is asked for with a hidden prompt: typed, never shown."""
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


def test_purge_leaves_only_the_config(env, sim, tmp_path):
    s = sim.sim
    store = "from traywidget.store.secrets import KeyringSecretStore; store = KeyringSecretStore(); "

    def keyring(code: str) -> str:
        result = subprocess.run([sys.executable, "-c", store + code], env=env, capture_output=True, text=True,
                                timeout=30, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    keyring("store.delete_all()")  # the session's keyring, as other tests left it: start from nothing
    add_account(env, sim, "routing.run", "rr", s.add_routing_key())
    or_key = s.add_openrouter_key()
    add_account(env, sim, "openrouter", "or", or_key, s.add_management_key(or_key))
    # A key the config no longer names (an account removed by hand) and the gateway token go too.
    keyring("store.update({'ghost:api': 'sk-ghost', 'gateway:token': 'tok'})")

    def keys_left() -> str:
        return keyring("print(sorted(store.read_all()))")

    everything = "['gateway:token', 'ghost:api', 'or:api', 'or:management', 'rr:api']"
    assert keys_left() == everything
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    (cache / "snapshots.json").write_text("{}")
    assert run_cli(env, "kill", "--hold", "5").code == 0  # no gateway runs: the hold is written down
    assert {"holds.json", "holds.lock"} <= set(os.listdir(tmp_path / "config"))
    dry = run_cli(env, "purge")
    assert dry.code == 0
    assert dry.out == ("Would delete: traywidget's keys in the keyring (2 accounts, and the gateway token; nothing "
                       f"else of yours); start at login; the cache {cache}. Run again with --yes to do it.\n")
    assert keys_left() == everything and (cache / "snapshots.json").exists()
    done = run_cli(env, "purge", "--yes")
    assert done.code == 0, done.err
    assert keys_left() == "[]"
    assert not cache.exists()
    # The locks and the keys' stamp went too; the config and the hold stay (the user's decisions).
    assert sorted(os.listdir(tmp_path / "config")) == ["config.json", "holds.json"]


# --- status ----------------------------------------------------------------------------------------


def test_status_json_covers_all_providers(env, sim):
    s = sim.sim
    rr = s.add_routing_key("Premium")
    s.set_counters(rr, day=420, hour=120, minute=3)
    add_account(env, sim, "routing.run", "rr", rr)
    or_key = s.add_openrouter_key(limit=10.0, limit_reset="daily")
    add_account(env, sim, "openrouter", "or", or_key, s.add_management_key(or_key))
    rw_key = s.add_routeway_key(daily_limit=200, minute_limit=5)
    add_account(env, sim, "routeway", "rw", rw_key, s.add_management_key(rw_key))
    add_account(env, sim, "routeway", "rw-nomgmt", s.add_routeway_key())
    r = run_cli(env, "status", "--json")
    assert r.code == 0, r.err
    data = {a["id"]: a for a in json.loads(r.out)["accounts"]}
    assert list(data) == ["rr", "or", "rw", "rw-nomgmt"]
    for account in data.values():
        assert set(account) == STATUS_KEYS
        assert account["state"] == "ok" and account["error"] is None and account["stale"] is False
        assert account["streams"] is None and account["severity"] == "fine"
        for meter in account["meters"]:
            assert set(meter) == METER_KEYS
            assert meter["source"] == "poll" and meter["freshness"] == "current"
            # read when the poll asked, just before it finished
            assert meter["seen_at"] <= account["fetched_at"]
    assert data["rr"]["plan"] == "Premium"
    assert meters_by_name(data["rr"]) == {
        "requests_minute": ("requests", 3, 100, 97),
        "requests_hour": ("requests", 120, 500, 380),
        "requests_day": ("requests", 420, 1500, 1080),
    }
    fetched = parse_utc(data["rr"]["fetched_at"])
    resets = {m["name"]: parse_utc(m["resets_at"]) for m in data["rr"]["meters"]}
    next_hour = fetched.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    assert resets["requests_hour"] == next_hour
    assert resets["requests_day"] == fetched.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    assert meters_by_name(data["or"]) == {
        "credits": ("usd", 0.0, 10.0, 10.0),
        "free_requests_day": ("requests", 0, 1000, 1000),
        "balance": ("usd", 0.0, None, 20.0),
    }
    assert meters_by_name(data["rw"]) == {
        "requests_minute": ("requests", 0, 5, 5),
        "requests_day": ("requests", 0, 200, 200),
        "balance": ("usd", None, None, 4.2),
    }
    assert data["rw-nomgmt"]["meters"] == []
    assert data["rw-nomgmt"]["notes"] == [("Routeway has no usage endpoint for API keys: add a management key "
                                           "to see requests left and balance.")]


@pytest.mark.slow
def test_status_json_of_litellm_deepseek_and_moonshot(env, sim):
    """The meters and states `status --json` documents for the balance and budget providers: a LiteLLM
    budget in USD, a DeepSeek balance in yuan (strings in, numbers out), a Moonshot balance at zero
    (payment required) and one behind a Cloudflare 1010 block (blocked, not key rejected)."""
    world = sim.sim.balances
    add_account(env, sim, "litellm", "team", world.add_litellm_key(alias="ci", spend=7.5, max_budget=25.0,
                                                                   budget_duration="30d"))
    add_account(env, sim, "litellm", "nocap", world.add_litellm_key(spend=3.0))
    add_account(env, sim, "deepseek", "ds", world.add_deepseek_account())
    add_account(env, sim, "moonshot", "kimi", world.add_moonshot_account(available_balance=0.0,
                                                                         voucher_balance=0.0, cash_balance=0.0))
    blocked = world.add_moonshot_account()
    sim.sim.configure(blocked, firewall="1010")
    add_account(env, sim, "moonshot", "kimi-cf", blocked)
    r = run_cli(env, "status", "--json")
    assert r.code == 1, r.err  # a payment and a block need the user
    data = {a["id"]: a for a in json.loads(r.out)["accounts"]}
    assert {i: a["state"] for i, a in data.items()} == {
        "team": "ok", "nocap": "ok", "ds": "ok", "kimi": "payment_required", "kimi-cf": "blocked"}
    assert meters_by_name(data["team"]) == {"budget": ("usd", 7.5, 25.0, 17.5)}
    assert data["team"]["plan"] == "ci"
    assert meters_by_name(data["nocap"]) == {"budget": ("usd", 3.0, None, None)}
    assert meters_by_name(data["ds"]) == {"balance": ("cny", None, None, 110.0)}
    assert meters_by_name(data["kimi"]) == {"balance": ("usd", None, None, 0.0)}
    assert data["kimi-cf"]["meters"] == []
    assert data["kimi-cf"]["error"]["code"] == "cloudflare_1010"
    assert data["kimi-cf"]["error"]["message"].startswith("Blocked by the provider's firewall (Cloudflare 1010)")
    text = run_cli(env, "status")
    assert "DeepSeek" not in text.err
    assert "CN¥110.00 left in the balance" in text.out


def test_status_speaks_like_the_menu(env, sim):
    s = sim.sim
    rr = s.add_routing_key("Premium")
    s.set_counters(rr, day=420, hour=120, minute=3)
    add_account(env, sim, "routing.run", "rr", rr)
    add_account(env, sim, "routeway", "rw-nomgmt", s.add_routeway_key())
    r = run_cli(env, "status")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[:2] == ["Rr — 1,080 requests left today · OK", "  routing.run · Premium"]
    assert lines[2].startswith("  Requests this minute: 97 of 100 left · resets in about ")
    assert lines[3].startswith("  Requests this hour: 380 of 500 left · resets ")
    assert lines[4].startswith("  Requests today: 1,080 of 1,500 left · resets ")
    assert lines[5:] == [
        "  fetched just now",
        "Rw-Nomgmt — no usage figures · OK",
        "  Routeway",
        "  Routeway has no usage endpoint for API keys: add a management key to see requests left and balance.",
        "  fetched just now",
    ]
    assert "requests_" not in r.out


def test_rate_limited_account_says_why_and_exits_0(env, sim):
    """A 429 is an answer about the quota, like an exhausted window: exit 0 (docs/cli.md), and the
    reason is shown, not "ok" with dashes."""
    s = sim.sim
    key = s.add_routing_key("Premium")
    add_account(env, sim, "routing.run", "rr", key)
    s.inject(key, "status_429", retry_after=40)
    r = run_cli(env, "status")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    # until when the 429 holds: its Retry-After after it was seen, to the second
    assert re.fullmatch(r"Rr — no usage figures · Rate limited \(429\) until \d\d:\d\d:\d\d: "
                        r"Hourly request limit exceeded", lines[0]), lines[0]
    assert lines[1:] == [
        "  routing.run",
        "  Last error: Hourly request limit exceeded (429)",
        "  fetched just now",
    ]
    (account,) = json.loads(run_cli(env, "status", "--json").out)["accounts"]
    assert (account["state"], account["severity"]) == ("rate_limited", "refused")
    assert account["error"]["http_status"] == 429 and account["error"]["retry_after_s"] == 40


def test_status_reports_auth_errors_with_exit_code_1(env, sim):
    add_account(env, sim, "routing.run", "wrong", "rk_" + "0" * 64)
    r = run_cli(env, "status", "--json")
    assert r.code == 1
    (account,) = json.loads(r.out)["accounts"]
    assert account["state"] == "auth_error"
    assert account["error"]["http_status"] == 401 and account["error"]["message"] == "Invalid API key"
    text = run_cli(env, "status")
    assert text.code == 1
    assert text.out.splitlines()[0] == "Wrong — no usage figures · Key rejected: Invalid API key"
    assert "  Last error: Invalid API key (401)" in text.out.splitlines()


@pytest.mark.parametrize("args", [("--demo", "status", "--json"), ("status", "--json", "--demo")])
def test_status_demo_needs_no_keyring(no_keyring_env, tmp_path, args):
    r = run_cli(no_keyring_env, *args)
    assert r.code == 0, r.err  # every demo account answers
    providers = {a["provider"] for a in json.loads(r.out)["accounts"]}
    assert providers == {"routing.run", "openrouter", "routeway", "litellm", "deepseek", "moonshot",
                         "openai-compatible"}
    assert not (tmp_path / "config").exists()


# --- kill ------------------------------------------------------------------------------------------


def test_kill_stops_streams_and_names_unsupported(env, sim):
    s = sim.sim
    rr = s.add_routing_key("Premium")
    add_account(env, sim, "routing.run", "rr", rr)
    add_account(env, sim, "openrouter", "or", s.add_openrouter_key())
    for _ in range(2):
        s.open_stream(rr, max_tokens=10_000)
    assert len(s.active_streams(rr)) == 2
    text = run_cli(env, "kill")
    assert text.code == 0, text.err
    assert text.out == ("Stopped 2 streams on Rr.\n"
                        "Streams your tools opened directly to OpenRouter cannot be stopped from here.\n")
    s.open_stream(rr, max_tokens=10_000)
    r = run_cli(env, "kill", "--json")
    assert r.code == 0, r.err
    results = {a["id"]: a for a in json.loads(r.out)["accounts"]}
    assert results == {
        "rr": {"id": "rr", "supported": True, "killed_streams": 1, "error": None, "held_until": None},
        "or": {"id": "or", "supported": False, "killed_streams": None, "error": None, "held_until": None},
    }
    again = run_cli(env, "kill")
    assert again.out.startswith("No streams were running.\n")
    # With a hold (no gateway runs: it is written down for the next one), and what it cannot cover.
    held = run_cli(env, "kill", "--hold", "5")
    assert held.code == 0, held.err
    assert held.out.splitlines()[-2:] == [
        "New requests through the gateway are held for 5 minutes (traywidget resume ends it sooner).",
        "A hold refuses only requests through the gateway; streams opened directly to a provider with a kill API "
        "(routing.run) were stopped by that API, new ones are not held."]
    assert json.loads(run_cli(env, "status", "--json").out)["accounts"][0]["held_by"] == "kill"
    assert run_cli(env, "resume").out == "Requests go through again: or, rr.\n"


# --- watch -----------------------------------------------------------------------------------------


def test_watch_prints_a_line_per_change_and_stops_on_sigterm(env, sim):
    s = sim.sim
    rr = s.add_routing_key("Premium")
    add_account(env, sim, "routing.run", "rr", rr)
    proc = start_cli(env, "watch", "--json")
    try:
        first = json.loads(proc.stdout.readline())
        assert first["id"] == "rr" and first["state"] == "ok"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


@pytest.mark.slow  # waits for watch's look at the holds file (every 2 s)
def test_watch_shows_a_hold_written_by_another_command_and_its_end(env, sim):
    add_account(env, sim, "routing.run", "rr", sim.sim.add_routing_key("Premium"))
    proc = start_cli(env, "watch", "--json")
    try:
        first = json.loads(proc.stdout.readline())
        assert (first["id"], first["held_until"]) == ("rr", None)
        assert first["gateway_usage"]["requests"] == 0  # no traffic through a gateway today
        assert run_cli(env, "kill", "--hold-until-resume").code == 0  # no gateway: the hold is written down
        line = json.loads(proc.stdout.readline())
        while line["held_until"] is None:
            line = json.loads(proc.stdout.readline())
        assert (line["held_until"], line["held_by"]) == ("resume", "kill")
        assert run_cli(env, "resume").code == 0
        line = json.loads(proc.stdout.readline())
        assert (line["held_until"], line["held_by"]) == (None, None)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err


def test_watch_waybar_shows_the_badge_meter_and_trouble(env, sim):
    s = sim.sim
    rr = s.add_routing_key("Premium")
    s.set_counters(rr, day=420, hour=380)
    add_account(env, sim, "routing.run", "rr", rr)
    add_account(env, sim, "routing.run", "bad", "rk_" + "0" * 64)
    proc = start_cli(env, "watch", "--format", "waybar")
    try:
        first = json.loads(proc.stdout.readline())  # the first glance waits for both accounts
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert set(first) == {"text", "tooltip", "class", "percentage"}
    assert (first["text"], first["class"], first["percentage"]) == ("120/h !", "action", 24)
    badge, bad = first["tooltip"].splitlines()
    assert badge.startswith("Badge: Rr (routing.run) — 120 requests left this hour, resets ")
    assert badge.endswith(" · OK")
    assert bad == "Bad (routing.run): no usage figures · Key rejected: Invalid API key"


def test_watch_line_format(env, sim):
    s = sim.sim
    rr = s.add_routing_key("Premium")
    s.set_counters(rr, day=420, hour=380)
    add_account(env, sim, "routing.run", "rr", rr)
    proc = start_cli(env, "watch", "--format", "line")
    try:
        line = proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    assert line == "Rr: 120 requests left this hour\n"


def test_watch_short_format_is_the_badges_figure(env, sim):
    s = sim.sim
    rr = s.add_routing_key("Premium")
    s.set_counters(rr, day=420, hour=380)
    add_account(env, sim, "routing.run", "rr", rr)
    proc = start_cli(env, "watch", "--format", "short")
    try:
        line = proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    assert line == "120/h\n"


# --- closed pipes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json", "waybar", "line", "short"])
def test_watch_ends_when_its_reader_goes_away(env, sim, fmt):
    """`watch | head -1`: after the reader has its line and exits, watch ends at once (without
    waiting for the next change to write), quietly, and polls no more."""
    s = sim.sim
    rr = s.add_routing_key("Premium")
    add_account(env, sim, "routing.run", "rr", rr)
    proc = start_cli(env, "watch", "--format", fmt)
    assert proc.stdout.readline()  # the first line, as `head -1` reads it
    proc.stdout.close()  # ... and then `head` exits
    assert proc.wait(timeout=20) == PIPE_CLOSED
    err = proc.stderr.read()
    proc.stderr.close()
    assert err == ""


def test_watch_ends_when_the_reader_goes_away_before_the_first_line(env, sim):
    s = sim.sim
    rr = s.add_routing_key("Premium")
    s.inject(rr, "hang", seconds=60)  # nothing to print until the engine's 15 s request timeout
    add_account(env, sim, "routing.run", "rr", rr)
    proc = start_cli(env, "watch")
    proc.stdout.close()
    assert proc.wait(timeout=10) == PIPE_CLOSED  # well before that first line would have failed to arrive
    err = proc.stderr.read()
    proc.stderr.close()
    assert err == ""


@pytest.mark.parametrize("args", [
    ("status", "--json", "--demo"),
    ("status", "--demo"),
    ("kill", "--demo"),
    ("accounts", "list"),
    ("accounts", "list", "--json"),
    ("doctor", "--json"),
    ("autostart", "status"),
    ("purge",),
    ("simulate", "--port", "0", "--demo"),
])
def test_every_printing_command_ends_quietly_on_a_closed_pipe(no_keyring_env, tmp_path, args):
    """Its reader is gone before it prints (`traywidget … | true`): no traceback, no
    "Exception ignored" at exit, exit code 141 like any Unix tool stopped by SIGPIPE."""
    run_cli(no_keyring_env, "accounts", "add", "routing.run", "--id", "main")
    env = {**no_keyring_env, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    env.pop("PYTHONUNBUFFERED")  # the usual case: block-buffered output, flushed at the end
    proc = start_cli(env, *args)
    proc.stdout.close()
    assert proc.wait(timeout=60) == PIPE_CLOSED
    err = proc.stderr.read()
    proc.stderr.close()
    assert err == ""


# --- the simulator ---------------------------------------------------------------------------------


def test_the_simulators_account_lines_paste_into_a_shell(env):
    """`simulate --demo` prints shell lines; pasted as they are into sh, they add every demo
    account with its keys (through the real keyring), and `status` then reads them all."""
    sim = start_cli(env, "simulate", "--port", "0", "--demo")
    try:
        printed = []
        while not printed or printed[-1] != "Press Ctrl+C to stop.":
            printed.append(sim.stdout.readline().rstrip("\n"))
        start = printed.index("To use the demo accounts with the real keyring and config, paste these lines "
                              "into a shell:")
        pasted = "\n".join(printed[start + 1:-1]) + "\n"
        assert pasted.count("traywidget accounts add ") == 9
        shell_env = {**env, "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")}
        shell = subprocess.run(["sh", "-e"], input=pasted, env=shell_env, capture_output=True, text=True,
                               timeout=120, check=False)
        assert shell.returncode == 0, shell.stderr
        status = run_cli(env, "status", "--json")
    finally:
        sim.send_signal(signal.SIGINT)
        sim.communicate(timeout=20)
    assert status.code == 0, status.err
    accounts = json.loads(status.out)["accounts"]
    assert [a["id"] for a in accounts] == ["demo-routing-run", "demo-routing-run-low", "demo-routing-run-lite",
                                           "demo-openrouter", "demo-routeway", "demo-litellm", "demo-deepseek",
                                           "demo-moonshot", "demo-compatible"]
    assert [a["label"] for a in accounts] == ["routing.run · Premium", "routing.run · runs low",
                                              "routing.run · Lite", "OpenRouter", "Routeway", "LiteLLM · team proxy",
                                              "DeepSeek", "Moonshot (Kimi)", "OpenAI-compatible · chat and messages"]
    assert all(a["state"] in ("ok", "low") and a["meters"] for a in accounts[:8]), accounts
    # No usage endpoint: its numbers come from traffic through the gateway, none yet.
    assert accounts[8]["state"] == "ok" and accounts[8]["meters"] == []


def test_keys_set_drops_bearer_and_refuses_what_cannot_be_a_key(env, sim):
    key = sim.sim.add_routing_key("Premium")
    assert run_cli(env, "accounts", "add", "routing.run", "--id", "x", "--base-url", sim.url("routing.run")).code == 0
    for typed, problem in ((f"{key[:8]}\r{key[8:]}", "a control character"), (f"{key}\x00", "a control character"),
                           (f"{key[:8]} {key[8:]}", "a space"),
                           ("https://routing.run/dashboard/keys", "a web address")):
        refused = run_cli(env, "keys", "set", "x", stdin=typed + "\n")
        assert (refused.code, refused.out) == (2, ""), refused.err
        assert refused.err.startswith("traywidget: ") and problem in refused.err and "nothing was saved" in refused.err
        assert key[8:] not in refused.err
    assert "NO_KEY" in run_cli(env, "status", "--json").out  # nothing was saved
    assert run_cli(env, "keys", "set", "x", stdin=f"Bearer {key}\n").code == 0
    status = json.loads(run_cli(env, "status", "--json").out)
    assert status["accounts"][0]["state"] == "ok"
    assert sim.sim.requests(key=key)  # the key itself reached the provider, without "Bearer "


HOSTILE_LABEL = "Work\x1b]0;owned\x07\x1b[2J \u202eexe.txt\u2066\u200f\rFAKE"
HOSTILE_SHOWN = "Work\\u001b]0;owned\\u0007\\u001b[2J \\u202eexe.txt\\u2066\\u200f\\u000dFAKE"


def test_labels_reach_the_terminal_with_control_and_bidi_characters_neutralised(env, sim):
    """A label set by a script or a hand edit, full of terminal escapes and bidi overrides, is printed by
    `accounts list`, `status` and `watch` with those characters written out; the JSON still round-trips."""
    rr = sim.sim.add_routing_key("Premium")
    assert run_cli(env, "accounts", "add", "routing.run", "--id", "rr", "--label", HOSTILE_LABEL,
                   "--base-url", sim.url("routing.run")).code == 0
    assert run_cli(env, "keys", "set", "rr", stdin=rr + "\n").code == 0
    listed, status = run_cli(env, "accounts", "list"), run_cli(env, "status")
    proc = start_cli(env, "watch", "--format", "line")
    try:
        line = proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    for shown in (listed.out, status.out, line):
        assert HOSTILE_SHOWN in shown, shown
        assert not any(c in shown for c in "\x1b\x07\r\u202e\u2066\u200f"), repr(shown)
    as_json = json.loads(run_cli(env, "accounts", "list", "--json").out)
    assert as_json["accounts"][0]["label"] == HOSTILE_LABEL
