"""Starvation: a local program holding very many half-open connections (a partial request, then a
header line now and then) under a 1,024 open-file limit does not stop the gateway serving the
user's own tools, and does not flood its output. The gateway runs as the real headless command
in a subprocess with that limit (soft and hard, as `ulimit -n 1024` sets), in front of the
simulator, with the real keyring."""

from __future__ import annotations

import resource
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.desktop_session import free_port, stop_process
from tests.e2e.cli import cli_env, run_cli
from tests.gateway.test_cli import _add

HALF_OPEN = 1_100
FILE_LIMIT = 1_024


@pytest.fixture
def env(keyring_home, tmp_path):
    _, keyring_env = keyring_home
    return cli_env(keyring_env, tmp_path)


def _half_open(port: int, count: int) -> list[socket.socket]:
    """`count` connections that each sent the start of a request and no end to it."""
    held = []
    for _ in range(count):
        sock = socket.socket()
        sock.settimeout(5)
        try:
            sock.connect(("127.0.0.1", port))
            sock.sendall(b"GET /acct/models HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        except OSError:
            sock.close()
            continue
        held.append(sock)
    return held


@pytest.mark.slow
def test_half_open_connections_do_not_starve_the_gateway(env, sim):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < HALF_OPEN + 200:
        pytest.skip(f"this test needs {HALF_OPEN + 200} open files for itself; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    key = sim.sim.add_openrouter_key()
    _add(env, sim, "openrouter", "or-main", key)
    token = run_cli(env, "gateway", "token").out.strip()
    port = free_port()
    command = f'ulimit -n {FILE_LIMIT} && exec "$0" -m traywidget gateway --port {port}'
    gateway = subprocess.Popen(["sh", "-c", command, sys.executable], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    held: list[socket.socket] = []
    try:
        first = gateway.stderr.readline()
        assert first.startswith(f"traywidget gateway listening on http://127.0.0.1:{port}/"), first
        held = _half_open(port, HALF_OPEN)
        for sock in held:  # one more header line on each, as a slow-loris client sends
            try:
                sock.send(b"X-Trickle: 1\r\n")
            except OSError:
                pass
        started = time.monotonic()
        with httpx.Client(timeout=10) as client:
            reply = client.get(f"http://127.0.0.1:{port}/or-main/key", headers={"Authorization": f"Bearer {token}"})
        took = time.monotonic() - started
        assert reply.status_code == 200, reply.text
        print(f"served in {took:.3f} s beside {len(held)} half-open connections")
    finally:
        for sock in held:
            sock.close()
        stop_process(gateway, timeout=10)
        err = gateway.stderr.read()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    lines = err.splitlines()
    assert len(lines) < 100, "\n".join(lines[:20])
    assert "Traceback" not in err
    # Told, once per burst: it made room by closing the oldest idle connections.
    assert sum("Gateway under connection pressure: closed idle to make room" in line for line in lines) == 1, err
