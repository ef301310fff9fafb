"""The gateway's command line end to end: real subprocesses, the real keyring
API on a real Secret Service, real HTTP to the simulator.

`traywidget gateway` headless (first stderr line, watch lines, SIGTERM),
`gateway token [--rotate]`, `gateway env`, one gateway per port, and
`traywidget status` / `kill` reaching a running gateway — with a canary key
and the token looked for everywhere they must not be."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.desktop_session import free_port, stop_process, wait_until
from tests.e2e.cli import cli_env, run_cli
from traywidget.providers.from_traffic import STOPPED_MESSAGE
from traywidget.store.config import ConfigStore

pytestmark = pytest.mark.slow  # every test runs the CLI or a headless gateway as a subprocess

CANARY = "sk-or-v1-" + "c11ca4a7" * 8


@pytest.fixture
def env(keyring_home, tmp_path):
    _, keyring_env = keyring_home
    return cli_env(keyring_env, tmp_path)


def _add(env, sim, provider: str, account_id: str, key: str, base_url: str | None = None) -> None:
    r = run_cli(env, "accounts", "add", provider, "--id", account_id, "--base-url", base_url or sim.url(provider))
    assert r.code == 0, r.err
    assert run_cli(env, "keys", "set", account_id, stdin=key + "\n").code == 0


def _set_port(env, port: int) -> None:
    store = ConfigStore(Path(env["TRAYWIDGET_CONFIG_DIR"]))
    config = store.load()
    store.save(type(config)(accounts=config.accounts, settings=type(config.settings)(gateway_port=port)))


def _stored_token(env) -> str | None:
    code = ("import keyring; from traywidget.store.secrets import KeyringSecretStore; "
            "from traywidget.gateway.token import read_token; print(read_token(KeyringSecretStore()))")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


class Headless:
    """`traywidget [--debug] gateway ARGS` in the background; `first_line`: the first line of its
    stderr that is not a debug log line (with --debug, asyncio logs before it starts)."""

    def __init__(self, env, *args: str, debug: bool = False) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "traywidget", *(["--debug"] if debug else []),
                                      "gateway", *args], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.log_lines: list[str] = []
        line = self.proc.stderr.readline()
        while debug and (" DEBUG " in line or " INFO " in line):
            self.log_lines.append(line)
            line = self.proc.stderr.readline()
        self.first_line = line.strip()

    def end(self) -> tuple[int, str, str]:
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=20)
        return self.proc.returncode, out, err


def test_token_is_made_once_kept_in_the_keyring_and_rotates(env):
    first = run_cli(env, "gateway", "token")
    again = run_cli(env, "gateway", "token")
    assert first.code == again.code == 0
    token = first.out.strip()
    assert token.startswith("twg-") and len(token) == 47 and again.out.strip() == token
    assert _stored_token(env) == token
    rotated = run_cli(env, "gateway", "token", "--rotate")
    assert rotated.code == 0 and rotated.out.strip() != token
    assert rotated.err.strip() == "Tools holding the old token are refused from now on."
    assert _stored_token(env) == rotated.out.strip()


def test_env_prints_the_lines_a_tool_needs(env, sim):
    _add(env, sim, "openrouter", "or-main", sim.sim.add_openrouter_key())
    _add(env, sim, "openai-compatible", "anthropic", "sk-ant-x", "https://api.anthropic.com/v1")
    _set_port(env, 8899)
    token = run_cli(env, "gateway", "token").out.strip()
    assert run_cli(env, "gateway", "env", "or-main").out == (
        f"export OPENAI_BASE_URL=http://127.0.0.1:8899/or-main\nexport OPENAI_API_KEY={token}\n")
    assert run_cli(env, "gateway", "env", "anthropic").out == (
        f"export OPENAI_BASE_URL=http://127.0.0.1:8899/anthropic\nexport OPENAI_API_KEY={token}\n"
        f"export ANTHROPIC_BASE_URL=http://127.0.0.1:8899/anthropic\nexport ANTHROPIC_API_KEY={token}\n")
    missing = run_cli(env, "gateway", "env", "ghost")
    assert (missing.code, missing.out) == (2, "")
    assert "traywidget: No account with id 'ghost'" in missing.err


def test_openai_compatible_accounts_are_added_like_any_other(env):
    r = run_cli(env, "accounts", "add", "openai-compatible", "--id", "groq", "--base-url",
                "https://api.groq.com/openai/v1")
    assert r.code == 0
    listed = json.loads(run_cli(env, "accounts", "list", "--json").out)["accounts"]
    assert listed == [{"id": "groq", "provider": "openai-compatible", "label": "groq",
                       "base_url": "https://api.groq.com/openai/v1"}]


def test_headless_gateway_end_to_end(env, sim, tmp_path):
    sim.sim.stream_interval_s = 0.05
    if sim.sim.provider_of(CANARY) is None:
        sim.sim.add_openrouter_key(key=CANARY)
    _add(env, sim, "openrouter", "or-main", CANARY)
    _add(env, sim, "routeway", "rw", sim.sim.add_routeway_key())
    port = free_port()
    _set_port(env, port)
    outputs: list[str] = []
    gateway = Headless(env, "--json", debug=True)
    try:
        assert gateway.first_line.startswith(f"traywidget gateway listening on http://127.0.0.1:{port}/ACCOUNT_ID")
        token = run_cli(env, "gateway", "token").out.strip()
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(timeout=20) as client:
            # Traffic teaches the account: Routeway's windows from a free model's answer.
            reply = client.post(f"http://127.0.0.1:{port}/rw/chat/completions", headers=auth,
                                json={"model": "m:free", "messages": []})
            assert reply.status_code == 200
            with client.stream("POST", f"http://127.0.0.1:{port}/or-main/chat/completions", headers=auth,
                               json={"model": "m", "stream": True, "max_tokens": 100_000, "messages": []}) as stream:
                chunks = stream.iter_raw()
                next(chunks)
                table = run_cli(env, "status")
                lines = table.out.splitlines()  # the menu's words: its line and its details
                assert lines[0].startswith("or-main — ") and lines[0].endswith(" · OK · 1 stream running"), lines
                assert "  1 stream running" in lines
                status = run_cli(env, "--debug", "status", "--json")
                outputs += [status.out, status.err, table.out]
                accounts = {a["id"]: a for a in json.loads(status.out)["accounts"]}
                assert (accounts["or-main"]["streams"], accounts["rw"]["streams"]) == (1, 0)
                traffic = {m["name"]: m for m in accounts["rw"]["meters"] if m["source"] == "traffic"}
                assert (traffic["requests_minute"]["limit"], traffic["requests_minute"]["remaining"]) == (5, 4)
                killed = run_cli(env, "--debug", "kill", "--json")
                outputs += [killed.out, killed.err]
                results = {r["id"]: r for r in json.loads(killed.out)["accounts"]}
                assert results["or-main"] == {"id": "or-main", "supported": True, "killed_streams": 1, "error": None,
                                              "held_until": None}
                assert results["rw"]["supported"] is False
                tail = b"".join(chunks)
            assert STOPPED_MESSAGE.encode() in tail and tail.endswith(b"data: [DONE]\n\n")
        wait_until(lambda: sim.sim.stream_stats(CANARY)["active"] == 0, 5, what="upstream closed")
        # One gateway per port, and the second says who holds it.
        second = run_cli(env, "gateway")
        assert second.code == 2
        assert f"Port {port} is taken by another traywidget gateway (process {gateway.proc.pid})" in second.err
    finally:
        code, out, err = gateway.end()
        sim.sim.stream_interval_s = 0.2
    outputs += [out, err, gateway.first_line, *gateway.log_lines]
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert {line["id"] for line in lines} == {"or-main", "rw"}
    streams = [line["streams"] for line in lines if line["id"] == "or-main"]
    assert 1 in streams and streams[-1] == 0  # watch printed the stream opening and ending
    # The canary key: only to its own provider, nowhere printed, in no file; the token in no file either.
    printed = "\n".join(outputs)
    assert "DEBUG" in printed
    assert CANARY not in printed and CANARY[-12:] not in printed and token not in printed
    for root in (tmp_path, Path(env["HOME"])):
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                assert CANARY.encode() not in data and token.encode() not in data, path
    assert {r.provider for r in sim.sim.requests(key=CANARY)} == {"openrouter"}
    assert sim.sim.requests(key=token) == []


def test_the_first_line_says_where_it_listens_and_sigint_ends_it(env, sim):
    _add(env, sim, "openrouter", "or-main", sim.sim.add_openrouter_key())
    port = free_port()
    gateway = Headless(env, "--port", str(port))
    try:
        assert gateway.first_line == (f"traywidget gateway listening on http://127.0.0.1:{port}/ACCOUNT_ID — for a "
                                      "tool's settings: traywidget gateway env ACCOUNT_ID")
        line = gateway.proc.stdout.readline()
        # What `watch` prints: the time, then the menu's line (no stream running: nothing said of streams).
        clock, _, rest = line.rstrip("\n").partition(" ")
        assert len(clock) == 8 and rest.startswith("or-main — ") and rest.endswith(" · OK"), line
        gateway.proc.send_signal(signal.SIGINT)
        assert gateway.proc.wait(20) == 0
    finally:
        stop_process(gateway.proc)


def test_accounts_added_or_removed_reach_the_running_gateway(env, sim):
    key = sim.sim.add_openrouter_key()
    _add(env, sim, "openrouter", "or-main", key)
    port = free_port()
    gateway = Headless(env, "--port", str(port))
    try:
        token = run_cli(env, "gateway", "token").out.strip()
        auth = {"Authorization": f"Bearer {token}"}
        chat = f"http://127.0.0.1:{port}/or-main/chat/completions"

        def ask():
            return httpx.post(chat, headers=auth, json={"model": "m", "messages": []}, timeout=10)

        assert ask().status_code == 200
        # Removed elsewhere: no longer forwarded with the key it had, and nothing reaches the provider.
        assert run_cli(env, "accounts", "remove", "or-main").code == 0
        wait_until(lambda: ask().status_code == 404, 10, what="the removed account refused")
        before = len(sim.sim.requests(key=key))
        refused = ask()
        assert refused.status_code == 404 and "No traywidget account 'or-main'" in refused.text
        assert len(sim.sim.requests(key=key)) == before
        # Added elsewhere: served without a restart.
        _add(env, sim, "routeway", "rw-new", sim.sim.add_routeway_key())
        reply = f"http://127.0.0.1:{port}/rw-new/chat/completions"
        wait_until(lambda: httpx.post(reply, headers=auth, json={"model": "m:free", "messages": []},
                                      timeout=10).status_code == 200, 10, what="the new account served")
    finally:
        code, _, err = gateway.end()
    assert code == 0, err
    assert "Traceback" not in err


def test_a_gateway_on_another_port_is_found_by_env_status_and_kill(env, sim):
    _add(env, sim, "openrouter", "or-main", sim.sim.add_openrouter_key())
    configured = free_port()
    _set_port(env, configured)
    gateway = Headless(env, "--port", "0")  # any free port: not the configured one
    try:
        port = int(gateway.first_line.split("http://127.0.0.1:", 1)[1].split("/", 1)[0])
        assert port != configured
        env_lines = run_cli(env, "gateway", "env", "or-main").out.splitlines()
        assert env_lines[0] == f"export OPENAI_BASE_URL=http://127.0.0.1:{port}/or-main"
        status = run_cli(env, "status", "--json")
        assert json.loads(status.out)["accounts"][0]["streams"] == 0  # a gateway answered: not null
    finally:
        code, _, err = gateway.end()
    assert code == 0, err
    # Gone: the configured port again, and no gateway to ask.
    assert run_cli(env, "gateway", "env", "or-main").out.splitlines()[0] == (
        f"export OPENAI_BASE_URL=http://127.0.0.1:{configured}/or-main")
    assert json.loads(run_cli(env, "status", "--json").out)["accounts"][0]["streams"] is None


def test_a_port_below_1024_without_the_right_says_so(env, sim):
    # Root here: setpriv takes away the one capability that lets it bind a low port (util-linux, as in CI).
    _add(env, sim, "openrouter", "or-main", sim.sim.add_openrouter_key())
    done = subprocess.run(["setpriv", "--bounding-set=-net_bind_service", "--inh-caps=-net_bind_service",
                           sys.executable, "-m", "traywidget", "gateway", "--port", "80"],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr == ("traywidget: Port 80 is reserved for the system (ports below 1024 need administrator "
                           "rights). Choose one from 1024 to 65535 with --port.\n")


def test_without_a_gateway_status_and_kill_work_as_before(env, sim):
    key = sim.sim.add_routing_key("Premium")
    _add(env, sim, "routing.run", "main", key)
    _set_port(env, free_port())
    status = run_cli(env, "status", "--json")
    assert status.code == 0
    (account,) = json.loads(status.out)["accounts"]
    assert account["streams"] is None and account["state"] == "ok"
    sim.start_stream(key)
    killed = json.loads(run_cli(env, "kill", "--json").out)
    assert killed == {"accounts": [{"id": "main", "supported": True, "killed_streams": 1, "error": None,
                                     "held_until": None}]}


def test_a_port_taken_by_another_program(env, sim):
    _add(env, sim, "openrouter", "or-main", sim.sim.add_openrouter_key())
    with subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "0"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as other:
        try:
            line = other.stdout.readline()
            port = int(line.split(" port ")[1].split()[0])
            taken = run_cli(env, "gateway", "--port", str(port))
        finally:
            stop_process(other)
    assert taken.code == 2
    assert taken.err.strip() == (f"traywidget: Port {port} is taken by another program. Choose another port with "
                                 "--port (or gateway_port in the config file).")


def test_keys_deleted_or_set_elsewhere_reach_the_running_gateway_at_once(env, sim):
    """`keys delete` returns: the very next request is not sent with the deleted key. `keys set` returns: the
    very next request carries the new key (the simulator records the key each request came with)."""
    old, new = sim.sim.add_openrouter_key(), sim.sim.add_openrouter_key()
    _add(env, sim, "openrouter", "or-main", old)
    port = free_port()
    gateway = Headless(env, "--port", str(port))
    try:
        token = run_cli(env, "gateway", "token").out.strip()

        def ask() -> httpx.Response:
            return httpx.post(f"http://127.0.0.1:{port}/or-main/chat/completions", timeout=10,
                              headers={"Authorization": f"Bearer {token}"}, json={"model": "m", "messages": []})

        def forwarded(key: str) -> int:  # the chats the provider received with `key` (the polls aside)
            return sum(r.path.endswith("chat/completions") for r in sim.sim.requests(key=key))

        assert ask().status_code == 200 and forwarded(old) == 1
        assert run_cli(env, "keys", "delete", "or-main").code == 0
        refused = ask()
        assert refused.status_code != 200 and forwarded(old) == 1, refused.text
        assert run_cli(env, "keys", "set", "or-main", stdin=new + "\n").code == 0
        assert ask().status_code == 200
        assert (forwarded(old), forwarded(new)) == (1, 1)
    finally:
        code, _, err = gateway.end()
    assert code == 0, err
    assert old not in err and new not in err
