"""The gateway among hostile neighbours, end to end: real `traywidget` subprocesses, a real
Secret Service (gnome-keyring), real sockets, the simulator upstream.

- A program that took the gateway's port and answers the health check like a gateway is sent
  nothing secret by `status`, `kill`, `gateway token --rotate` or `gateway env`.
- A rotation reaches every running gateway of the user.
- A taken IPv6 half of the port is told at start.
- With the keyring locked (its unlock prompt would show on a real desktop: here under Xvfb),
  a wrong token is answered at once, from memory, and raises no prompt; a key the gateway must
  read answers 503 with what to do; SIGTERM ends the process even while a keyring call hangs.
"""

from __future__ import annotations

import json
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_tools
from tests.desktop_session import (
    dbus_session,
    free_port,
    secret_service,
    stop_process,
    xvfb,
)
from tests.e2e.cli import cli_env, run_cli
from tests.gateway.test_cli import Headless, _add, _set_port
from traywidget.store.store_lock import KEYS_CHANGED_FILE

pytestmark = pytest.mark.slow


@pytest.fixture
def env(keyring_home, tmp_path):
    _, keyring_env = keyring_home
    return cli_env(keyring_env, tmp_path)


class Squatter(ThreadingHTTPServer):
    """Took the port first; answers /_traywidget/health as a gateway would (proof included, made
    up), and keeps every request it is sent."""

    def __init__(self, port: int = 0) -> None:
        self.seen: list[str] = []

        squatter = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                squatter.seen.append(f"{self.command} {self.path}\n{self.headers}\n{body!r}")
                payload = {"service": "traywidget-gateway", "version": "9", "pid": 1, "proof": "0" * 64,
                           "streams": {}, "observations": [], "stopped": {}, "changed": True}
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def close(self) -> None:
        self.shutdown()
        self.server_close()


def test_a_squatter_on_the_port_receives_nothing_secret(env, sim):
    _add(env, sim, "openrouter", "or-main", sim.sim.add_openrouter_key())
    squatter = Squatter()
    try:
        _set_port(env, squatter.port)
        token = run_cli(env, "gateway", "token").out.strip()
        status = run_cli(env, "status", "--json")
        assert status.code == 0
        assert json.loads(status.out)["accounts"][0]["streams"] is None  # nothing taken from it either
        assert "did not prove it holds your gateway token; nothing was sent to it" in status.err
        table = run_cli(env, "status")
        killed = run_cli(env, "kill")
        rotated = run_cli(env, "gateway", "token", "--rotate")
        new = rotated.out.strip()
        assert rotated.code == 0 and new != token
        assert (f"the program on port {squatter.port} answers like a traywidget gateway but did not prove it holds "
                "your gateway token; nothing was sent to it") in rotated.err
        lines = run_cli(env, "gateway", "env", "or-main")
        assert lines.code == 2 and lines.out == ""
        assert f"Port {squatter.port} is held by a program that is not your traywidget gateway" in lines.err
        seen = "\n".join(squatter.seen)
        assert "/_traywidget/health" in seen  # it was asked who it is, so a leak would have shown
        for secret in (token, new):
            assert secret not in seen and secret[-12:] not in seen
        assert "challenge=" in seen
        assert token not in table.out + killed.out
    finally:
        squatter.close()


def test_rotation_reaches_every_running_gateway(env, sim):
    key = sim.sim.add_openrouter_key()
    _add(env, sim, "openrouter", "or-main", key)
    old = run_cli(env, "gateway", "token").out.strip()
    first, second = Headless(env, "--port", "0"), Headless(env, "--port", "0")
    try:
        ports = [int(g.first_line.split("127.0.0.1:")[1].split("/")[0]) for g in (first, second)]
        rotated = run_cli(env, "gateway", "token", "--rotate")
        new = rotated.out.strip()
        for port in ports:
            assert f"The gateway on port {port} now takes only the new token." in rotated.err
        with httpx.Client(timeout=10) as client:
            for port in ports:
                url = f"http://127.0.0.1:{port}/or-main/key"
                assert client.get(url, headers={"Authorization": f"Bearer {new}"}).status_code == 200
                assert client.get(url, headers={"Authorization": f"Bearer {old}"}).status_code == 401
    finally:
        for gateway in (first, second):
            code, _, err = gateway.end()
            assert code == 0, err


def test_sighup_makes_a_headless_gateway_read_a_token_rotated_behind_its_back(env, sim):
    _add(env, sim, "openrouter", "or-main", sim.sim.add_openrouter_key())
    old = run_cli(env, "gateway", "token").out.strip()
    port = free_port()
    gateway = Headless(env, "--port", str(port))
    try:
        code = ("from traywidget.store.secrets import KeyringSecretStore; "
                "from traywidget.gateway.token import rotate_token; print(rotate_token(KeyringSecretStore()))")
        new = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                             check=True).stdout.strip()
        url = f"http://127.0.0.1:{port}/or-main/key"
        with httpx.Client(timeout=10) as client:
            def status(token: str) -> int:
                return client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code

            assert (status(new), status(old)) == (401, 200)  # a request alone never reads the keyring
            gateway.proc.send_signal(signal.SIGHUP)
            assert gateway.proc.stderr.readline().strip() == "The gateway now takes only the new token."
            assert (status(new), status(old)) == (200, 401)
    finally:
        code, _, err = gateway.end()
    assert code == 0, err


def test_a_taken_ipv6_half_of_the_port_is_told(env, sim):
    _add(env, sim, "openrouter", "or-main", sim.sim.add_openrouter_key())
    port = free_port()
    with socket.socket(socket.AF_INET6) as other:
        other.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        other.bind(("::1", port))
        other.listen()
        gateway = Headless(env, "--port", str(port))
        try:
            assert gateway.first_line.startswith(f"traywidget gateway listening on http://127.0.0.1:{port}/")
            warning = gateway.proc.stderr.readline().strip()
            assert warning == (f"traywidget: warning: port {port} on the IPv6 loopback ([::1]) is taken by another "
                               "program: a tool that resolves localhost to ::1 would reach it, not the gateway. Give "
                               f"tools http://127.0.0.1:{port}/ (as `traywidget gateway env` does), or choose another "
                               "port.")
        finally:
            gateway.end()


# --- a locked keyring ------------------------------------------------------------------------------


@contextmanager
def _desktop_with_keyring() -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """A private session bus, gnome-keyring and Xvfb, with the bus starting the unlock prompter on
    that display: (the keyring's env, the env with DISPLAY)."""
    require_tools("dbus-daemon", "gnome-keyring-daemon", "Xvfb", "xwininfo", "dbus-update-activation-environment")
    home = Path(tempfile.mkdtemp(prefix="tw-locked-"))
    with dbus_session(home) as bus, secret_service(bus) as keyring_env, xvfb(keyring_env) as display_env:
        subprocess.run(["dbus-update-activation-environment", f"DISPLAY={display_env['DISPLAY']}"],
                       env=display_env, check=True, timeout=10)
        yield keyring_env, display_env


def _lock_keyring(env: dict[str, str]) -> None:
    code = ("import secretstorage; c = secretstorage.dbus_init(); col = secretstorage.get_default_collection(c); "
            "col.lock(); assert col.is_locked()")
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=20)


def _prompt_shown(display_env: dict[str, str]) -> bool:
    tree = subprocess.run(["xwininfo", "-root", "-tree"], env=display_env, capture_output=True, text=True, check=True,
                          timeout=10).stdout
    return "Unlock" in tree


def test_a_locked_keyring_never_hangs_the_gateway(sim, tmp_path):
    with _desktop_with_keyring() as (keyring_env, display_env):
        env = cli_env(keyring_env, tmp_path)
        cached = sim.sim.add_openrouter_key()
        _add(env, sim, "openrouter", "cached", cached)
        token = run_cli(env, "gateway", "token").out.strip()
        port = free_port()
        gateway = Headless(env, "--port", str(port))
        right, wrong = {"Authorization": f"Bearer {token}"}, {"Authorization": "Bearer twg-not-the-token"}
        try:
            with httpx.Client(timeout=30) as client:
                url = f"http://127.0.0.1:{port}"
                assert client.get(f"{url}/cached/key", headers=right).status_code == 200  # the keys are read now
                _lock_keyring(env)
                started = time.monotonic()
                refused = client.get(f"{url}/cached/key", headers=wrong)
                took = time.monotonic() - started
                assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_gateway_token"
                assert took < 2.0, f"a wrong token took {took:.2f} s"
                assert not _prompt_shown(display_env)
                assert client.get(f"{url}/cached/key", headers=right).status_code == 200  # from memory
                # Another process changed the keys (its stamp says so): the keys must be read again, the keyring
                # is asked (the prompt may show: the user is needed), and the request is told within the bound,
                # with what to do; the next one at once.
                (tmp_path / "config" / KEYS_CHANGED_FILE).write_text(secrets.token_hex(8))
                unlock = client.get(f"{url}/cached/key", headers=right)
                assert unlock.status_code == 503 and unlock.json()["error"]["code"] == "keyring_unavailable"
                assert "Unlock it" in unlock.json()["error"]["message"]
                started = time.monotonic()
                assert client.get(f"{url}/cached/key", headers=right).status_code == 503
                assert time.monotonic() - started < 2.0
            # SIGTERM while that keyring call still hangs (its prompt is still open).
            assert _prompt_shown(display_env)
            started = time.monotonic()
            gateway.proc.send_signal(signal.SIGTERM)
            code = gateway.proc.wait(10)
            assert code == 0 and time.monotonic() - started < 6.0
        finally:
            stop_process(gateway.proc)
