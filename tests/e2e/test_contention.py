"""Many `traywidget` processes writing the config and the keyring at once lose nothing.

Twenty real CLI processes start together (each with a cache directory of its own, as when
XDG_CACHE_HOME differs between a terminal and the desktop session) against one config
directory and one real gnome-keyring on a private session bus. Every one must report success
and every write must be there afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import require_tools
from tests.desktop_session import dbus_session, secret_service, wait_until
from tests.e2e.cli import cli_env, run_cli

pytestmark = [pytest.mark.desktop, pytest.mark.slow]

WRITERS = 20
KEY = "rk_" + "5e" * 32


@pytest.fixture(scope="module")
def bus(tmp_path_factory):
    require_tools("dbus-daemon", "gnome-keyring-daemon")
    with dbus_session(tmp_path_factory.mktemp("contention")) as env, secret_service(env) as keyring_env:
        yield keyring_env


def _env(bus: dict[str, str], tmp_path, n: int) -> dict[str, str]:
    """One shared config directory, a cache directory of this writer's own."""
    env = cli_env(bus, tmp_path)
    env.pop("PYTHON_KEYRING_BACKEND", None)
    env["TRAYWIDGET_CACHE_DIR"] = str(tmp_path / f"cache{n}")
    env["XDG_CACHE_HOME"] = str(tmp_path / f"xdg-cache{n}")
    return env


def _reading_stdin(proc: subprocess.Popen) -> bool:
    """Whether the process sits in a read of its standard input (a pipe), as `keys set` does before it saves."""
    try:
        with open(f"/proc/{proc.pid}/wchan") as wchan:
            where = wchan.read()
    except OSError:
        return False
    return "pipe_read" in where or "pipe_wait" in where


def _all_at_once(commands: list[tuple[list[str], dict[str, str], str]]) -> list[tuple[int, str, str]]:
    """Run the commands together; those that read standard input get it only once all of them wait for it,
    so their writes meet."""
    procs = [subprocess.Popen([sys.executable, "-m", "traywidget", *args], env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=os.getcwd())
             for args, env, _ in commands]
    readers = [proc for proc, (_, _, stdin) in zip(procs, commands) if stdin]
    wait_until(lambda: all(_reading_stdin(proc) for proc in readers), timeout=120, what="every writer reading its key")
    for proc, (_, _, stdin) in zip(procs, commands):
        proc.stdin.write(stdin)
        proc.stdin.close()
    results = []
    for proc in procs:
        out, err = proc.stdout.read(), proc.stderr.read()
        results.append((proc.wait(180), out, err))
    return results


def test_twenty_parallel_account_adds_are_all_kept(bus, tmp_path):
    commands = [(["accounts", "add", "routing.run", "--id", f"acc{n:02d}"], _env(bus, tmp_path, n), "")
                for n in range(WRITERS)]
    results = _all_at_once(commands)
    assert [(code, err) for code, _, err in results] == [(0, "")] * WRITERS
    listed = run_cli(_env(bus, tmp_path, 99), "accounts", "list", "--json")
    assert sorted(a["id"] for a in json.loads(listed.out)["accounts"]) == [f"acc{n:02d}" for n in range(WRITERS)]
    assert [p.name for p in (tmp_path / "config").iterdir() if p.name.endswith(".tmp")] == []


def test_twenty_parallel_key_sets_are_all_kept(bus, tmp_path):
    ids = [f"acc{n:02d}" for n in range(WRITERS)]
    config = {"version": 1, "accounts": [{"id": a, "provider": "routing.run", "label": a,
                                          "base_url": "https://api.routing.run/v1"} for a in ids]}
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.json").write_text(json.dumps(config))
    commands = [(["keys", "set", a], _env(bus, tmp_path, n), f"{KEY[:-2]}{n:02d}\n") for n, a in enumerate(ids)]
    results = _all_at_once(commands)
    assert [(code, err) for code, _, err in results] == [(0, "")] * WRITERS
    reader = ("import json; from traywidget.store.secrets import KeyringSecretStore as S; "
              "print(json.dumps(S().read_all()))")
    read = subprocess.run([sys.executable, "-c", reader],
                          env=_env(bus, tmp_path, 99), capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(read.stdout) == {f"{a}:api": f"{KEY[:-2]}{n:02d}" for n, a in enumerate(ids)}
    assert run_cli(_env(bus, tmp_path, 99), "purge", "--yes").code == 0
