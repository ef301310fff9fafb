"""Where a headless gateway listens, for the other commands.

`traywidget gateway --port N` (or port 0: any free port) listens where the config does not say.
While it runs it leaves its port in the cache directory, so that `gateway env`, `status`,
`kill` and `gateway token --rotate` reach it there; it removes the file when it stops. A file
left by a gateway that died is ignored (its process is gone), and the config's port holds.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from traywidget.store.config import ConfigStore
from traywidget.store.paths import atomic_write, cache_dir

FILE = "gateway-address.json"


def _path() -> Path:
    return cache_dir() / FILE


def announce(port: int) -> None:
    try:
        atomic_write(_path(), json.dumps({"port": port, "pid": os.getpid()}).encode())
    except OSError:  # the cache directory is not writable: the config's port is then what others try
        pass


def withdraw() -> None:
    announced = _announced()
    if announced is not None and announced[1] == os.getpid():
        _path().unlink(missing_ok=True)


def gateway_port() -> int:
    """The port of the running headless gateway if one announced itself, else the config's."""
    announced = _announced()
    if announced is not None and _alive(announced[1]):
        return announced[0]
    return ConfigStore().load().settings.gateway_port


def headless_gateway_pid() -> int | None:
    """The process id of the headless gateway running now, if one announced itself.

    It decides who sends alert hooks (docs/metrics-and-hooks.md): a running headless gateway
    sends them, and the tray app sends them only while none runs, so one event is never sent twice."""
    announced = _announced()
    return announced[1] if announced is not None and _alive(announced[1]) else None


def _announced() -> tuple[int, int] | None:
    """(port, pid) from the file, when there is one in that shape."""
    try:
        data = json.loads(_path().read_text())
        port, pid = data["port"], data["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if type(port) is int and 0 < port <= 65535 and type(pid) is int:
        return port, pid
    return None


def _alive(pid: int) -> bool:
    if sys.platform == "win32":  # no cheap check without psutil: a stale file then costs one refused connect
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True
