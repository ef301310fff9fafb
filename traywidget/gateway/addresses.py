"""Where this user's gateways listen, for the commands that must reach all of them.

Every running gateway (the tray's, each headless `traywidget gateway`) leaves a small file
`gateways/PID.json` ({"port": P, "pid": PID}) in the cache directory and removes it when it
stops. A file left by a gateway that died is ignored (its process is gone) and cleared away.
`gateway token --rotate` reaches every gateway listed; `gateway env`, `status` and `kill` use
the first, else the config's port.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from traywidget.core.paths import atomic_write, cache_dir

FOLDER = "gateways"


def _folder() -> Path:
    return cache_dir() / FOLDER


def _own_file() -> Path:
    return _folder() / f"{os.getpid()}.json"


def announce(port: int) -> None:
    try:
        atomic_write(_own_file(), json.dumps({"port": port, "pid": os.getpid()}).encode())
    except OSError:  # the cache directory is not writable: the config's port is then what others try
        pass


def withdraw() -> None:
    _own_file().unlink(missing_ok=True)


def announced() -> list[int]:
    """The ports of the gateways running now, oldest file first."""
    try:
        files = sorted(_folder().glob("*.json"), key=lambda path: path.stat().st_mtime)
    except OSError:
        return []
    ports: list[int] = []
    for path in files:
        entry = _read(path)
        if entry is None:
            continue
        port, pid = entry
        if not _alive(pid):
            path.unlink(missing_ok=True)
        elif port not in ports:
            ports.append(port)
    return ports


def _read(path: Path) -> tuple[int, int] | None:
    """(port, pid) from the file, when there is one in that shape."""
    try:
        data = json.loads(path.read_text())
        port, pid = data["port"], data["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if type(port) is int and 0 < port <= 65535 and type(pid) is int and pid > 0:
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
