"""Hooks end to end: `traywidget hooks add|list|remove|test` with the real keyring on a real Secret
Service, a real loopback receiver, and a real headless gateway that sends a hook when a request
through it is refused (429) — while the tray app's hooks hold back for it (one sender per event)."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.desktop_session import free_port, wait_until
from tests.e2e.cli import cli_env, run_cli
from tests.gateway.test_cli import Headless, _add, _set_port

pytestmark = pytest.mark.slow


@pytest.fixture
def env(keyring_home, tmp_path):
    """The CLI's environment: a throwaway config and cache, the real keyring of a private session."""
    _, keyring_env = keyring_home
    return cli_env(keyring_env, tmp_path)


CANARY_BEARER = "hook-bearer-" + "b00b1e5" * 6


class Receiver(ThreadingHTTPServer):
    """A loopback endpoint recording each POST (body and Authorization header)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict, str | None, str]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((json.loads(body), self.headers.get("Authorization"), self.path))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.shutdown()
    server.server_close()


def _stored_secrets(env) -> dict:
    code = ("import json; from traywidget.store.secrets import KeyringSecretStore; "
            "print(json.dumps(KeyringSecretStore().read_all()))")
    import subprocess

    return json.loads(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                     check=True).stdout)


def test_hooks_add_list_test_remove_keep_the_url_and_bearer_in_the_keyring(env, receiver, tmp_path):
    secret_path = "/services/T0AAA/B0BBB/c0ffee0c0ffee0c0ffee0c0ffee"
    added = run_cli(env, "hooks", "add", "--url", receiver.url(secret_path), "--bearer-from-stdin",
                    stdin=CANARY_BEARER + "\n")
    assert added.code == 0, added.err
    assert added.out == f"Added hook 1: {receiver.url('/…')}. Try it: traywidget hooks test\n"
    out_file = tmp_path / "hook.json"
    script = f"import sys; open({str(out_file)!r}, 'w').write(sys.stdin.read())"
    assert run_cli(env, "hooks", "add", "--command", f"{sys.executable} -c {json.dumps(script)}").code == 0
    listed = run_cli(env, "hooks", "list")
    assert listed.out.splitlines()[:2] == ["N  KIND     TARGET",
                                           f"1  url      {receiver.url('/…')} (bearer)"]
    config_text = (Path(env["TRAYWIDGET_CONFIG_DIR"]) / "config.json").read_text()
    assert "c0ffee" not in config_text and CANARY_BEARER not in config_text
    hook_id = json.loads(run_cli(env, "hooks", "list", "--json").out)["hooks"][0]["id"]
    stored = _stored_secrets(env)
    assert stored[f"hook:{hook_id}:url"] == receiver.url(secret_path)
    assert stored[f"hook:{hook_id}:bearer"] == CANARY_BEARER

    tested = run_cli(env, "hooks", "test")
    assert tested.code == 0, tested.out + tested.err
    assert tested.out.splitlines()[0] == f"1. {receiver.url('/…')}: delivered"
    assert tested.out.splitlines()[1].endswith(": delivered")
    body, authorization, path = receiver.received[0]
    assert (authorization, path) == (f"Bearer {CANARY_BEARER}", secret_path)
    assert body["event"] == "test" and json.loads(out_file.read_text()) == body
    assert CANARY_BEARER not in tested.out + tested.err

    removed = run_cli(env, "hooks", "remove", "1")
    assert removed.out == f"Removed hook 1: {receiver.url('/…')}.\n"
    stored = _stored_secrets(env)
    assert f"hook:{hook_id}:url" not in stored and f"hook:{hook_id}:bearer" not in stored
    assert len(json.loads(run_cli(env, "hooks", "list", "--json").out)["hooks"]) == 1
    bad = run_cli(env, "hooks", "remove", "7")
    assert (bad.code, bad.err) == (2, "traywidget: No hook number 7 (see `traywidget hooks list`)\n")
    refused = run_cli(env, "hooks", "add", "--url", "http://example.com/hook")
    assert refused.code == 2 and "Plain http is refused for example.com" in refused.err


def test_a_failing_hook_test_says_which_and_why(env, tmp_path):
    assert run_cli(env, "hooks", "add", "--command", f"{sys.executable} -c 'raise SystemExit(4)'").code == 0
    tested = run_cli(env, "hooks", "test")
    assert tested.code == 1
    assert tested.out.endswith(": failed (exit status 4)\n")


def test_the_headless_gateway_sends_a_refusal_to_the_hooks_and_the_tray_holds_back(env, sim, receiver,
                                                                                    monkeypatch):
    key = sim.sim.add_routeway_key(daily_limit=200, minute_limit=1)
    _add(env, sim, "routeway", "rw", key)
    # The session's keyring is shared: a management key another test saved for an account "rw" would make the
    # engine poll with it (and hear 401). This account has none.
    run_cli(env, "keys", "delete", "rw", "--management")
    port = free_port()
    _set_port(env, port)  # (it writes default settings: before the hook is added)
    assert run_cli(env, "hooks", "add", "--url", receiver.url("/team-alerts")).code == 0
    gateway = Headless(env)
    try:
        token = run_cli(env, "gateway", "token").out.strip()
        auth = {"Authorization": f"Bearer {token}"}
        for expected in (200, 429):
            reply = httpx.post(f"http://127.0.0.1:{port}/rw/chat/completions", headers=auth,
                               json={"model": "m:free", "messages": []}, timeout=20)
            assert reply.status_code == expected
        wait_until(lambda: receiver.received, 15, what="the hook")
        event = receiver.received[0][0]
        assert (event["event"], event["account"], event["provider"], event["severity"]) == \
            ("rate_limited", "rw", "routeway", "refused")
        assert event["message"].startswith("rw: per-minute limit hit (429)")
        assert set(event) == {"event", "account", "provider", "window", "remaining", "limit", "resets_at",
                              "severity", "message", "at"}
        # The tray app's hooks hold back while this headless gateway runs: one sender per event.
        monkeypatch.setenv("TRAYWIDGET_CACHE_DIR", env["TRAYWIDGET_CACHE_DIR"])
        from traywidget.gateway.addresses import headless_gateway_pid

        assert headless_gateway_pid() == gateway.proc.pid
        assert _tray_would_send(receiver) is False
    finally:
        code, _, err = gateway.end()
    assert code == 0, err
    assert len(receiver.received) == 1  # the 429 once, not once per refused request or poll
    assert key not in json.dumps(receiver.received) and token not in json.dumps(receiver.received)
    assert _tray_would_send(receiver) is True  # no headless gateway now: the tray sends


def test_kill_tells_the_hooks_what_it_stopped_once_and_says_which_hook_failed(env, sim, receiver):
    rr = sim.sim.add_routing_key("Premium")
    _add(env, sim, "routing.run", "rr", rr)
    _add(env, sim, "openrouter", "or", sim.sim.add_openrouter_key())
    port = free_port()
    _set_port(env, port)
    assert run_cli(env, "hooks", "add", "--url", receiver.url("/team-alerts")).code == 0
    assert run_cli(env, "hooks", "add", "--command", f"{sys.executable} -c 'raise SystemExit(3)'").code == 0
    for _ in range(2):
        sim.sim.open_stream(rr, max_tokens=10_000)
    gateway = Headless(env)  # a running headless gateway stops its streams and leaves the answer to `kill`
    try:
        killed = run_cli(env, "kill", "--no-hold")
        assert killed.code == 0, killed.err
        assert killed.out == ("Stopped 2 streams on rr.\n"
                              "Streams your tools opened directly to OpenRouter cannot be stopped from here.\n")
        assert killed.err == (f"traywidget: warning: alert hook {sys.executable} -c 'raise SystemExit(3)' failed "
                              "(exit status 3)\n")
        assert [(e["event"], e["account"], e["severity"], e["message"]) for e, _, _ in receiver.received] == [
            ("kill_result", None, None, "Stopped 2 streams on rr. Streams your tools opened directly to OpenRouter "
                                        "cannot be stopped from here.")]
    finally:
        code, _, err = gateway.end()
    assert code == 0, err
    assert len(receiver.received) == 1  # from `kill` only: the gateway that stopped the streams sent nothing
    assert rr not in json.dumps(receiver.received)


def _tray_would_send(receiver: Receiver) -> bool:
    """Whether the tray app's hook runner (as its session builds it) delivers an event now."""
    from traywidget.desktop.hooks import hook_url_name, url_hook
    from traywidget.model import utcnow
    from traywidget.present.hook_events import sample_event
    from traywidget.store.secrets import MemorySecretStore
    from traywidget.ui.session import tray_hook_runner

    async def send() -> bool:
        hook, url = url_hook(receiver.url("/tray"))
        store = MemorySecretStore()
        store.set_secret(hook_url_name(hook.id), url)
        runner = tray_hook_runner(asyncio.get_running_loop(), store)
        runner.set_hooks([hook])
        before = len(receiver.received)
        runner.send(sample_event(utcnow()))
        await runner.drain()
        return len(receiver.received) > before

    return asyncio.run(send())
