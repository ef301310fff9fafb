"""A canary key pushed through every path of the command line is found nowhere
but in the auth header of requests to its own provider.

Paths: keys set, accounts list, status (table and JSON), watch, kill, every
error form the simulator can produce, and --debug logging. Places searched:
every byte the commands printed, every file under the throwaway HOME (config,
cache, the keyring's own files) and the simulator's record of which key each
request carried to which provider.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.cli import cli_env, run_cli

CANARY = "rk_" + "c4a7a1e5" * 8  # 64 hex chars: a valid-looking routing.run key
OTHER_CANARY = "sk-or-v1-" + "5ec7e75ec7e7" * 5


def _files_containing(root: Path, needle: bytes) -> list[Path]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                if needle in path.read_bytes():
                    hits.append(path)
            except OSError:
                pass
    return hits


@pytest.mark.slow
def test_canary_key_never_leaks(keyring_home, tmp_path, sim):
    home, keyring_env = keyring_home
    env = cli_env(keyring_env, tmp_path)
    s = sim.sim
    s.add_routing_key("Premium", key=CANARY)
    s.add_openrouter_key(key=OTHER_CANARY)
    outputs: list[str] = []

    def cli(*args: str, stdin: str | None = None):
        result = run_cli(env, "--debug", *args, stdin=stdin)
        outputs.extend([result.out, result.err])
        return result

    assert cli("accounts", "add", "routing.run", "--id", "canary", "--base-url", sim.url("routing.run")).code == 0
    assert cli("accounts", "add", "openrouter", "--id", "other", "--base-url", sim.url("openrouter")).code == 0
    assert cli("keys", "set", "canary", stdin=CANARY + "\n").code == 0
    assert cli("keys", "set", "other", stdin=OTHER_CANARY + "\n").code == 0
    cli("accounts", "list")
    cli("accounts", "list", "--json")
    assert cli("status", "--json").code == 0
    cli("status")
    s.open_stream(CANARY, max_tokens=10_000)
    assert '"killed_streams": 1' in cli("kill", "--json").out
    cli("kill")

    faults = [("status_401", {}), ("status_403", {}), ("status_402", {}), ("status_429", {"retry_after": 5}),
              ("http_500_html", {}), ("truncated_json", {}), ("wrong_types", {}), ("reset", {}),
              ("ip_limit", {})]
    for fault, params in faults:
        for key in (CANARY, OTHER_CANARY):
            s.inject(key, fault, count=1, **params)
        cli("status", "--json")
        cli("status")
        s.clear()

    watch = subprocess.Popen([sys.executable, "-m", "traywidget", "--debug", "watch"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watch.stdout.readline()
    time.sleep(0.5)
    watch.send_signal(signal.SIGTERM)
    out, err = watch.communicate(timeout=20)
    outputs.extend([out, err])

    printed = "\n".join(outputs)
    assert "DEBUG" in printed, "debug logging was not on, so it was not tested"
    for secret in (CANARY, OTHER_CANARY):
        assert secret not in printed
        assert secret[-12:] not in printed, "a recognisable tail of the key was printed"
        assert _files_containing(home, secret.encode()) == []
        assert _files_containing(tmp_path, secret.encode()) == []

    # Where the keys did go: only to their own provider.
    carried = s.requests(key=CANARY)
    assert carried and {r.provider for r in carried} == {"routing.run"}
    assert {r.provider for r in s.requests(key=OTHER_CANARY)} == {"openrouter"}
    assert not any(r.has_origin or r.has_referer for r in carried)
