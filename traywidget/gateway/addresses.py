"""Where this user's gateways listen, for the commands that must reach them.

Every running gateway (the tray's, each headless `traywidget gateway`) leaves a small file
`gateways/PID.json` ({"port": P, "pid": PID, "headless": bool}) in the cache directory and
removes it when it stops. A file left by a gateway that died is ignored (its process is gone)
and cleared away. `gateway token --rotate` reaches every gateway listed; `gateway env`,
`status` and `kill` use the first, else the config's port (`traywidget gateway --port N`, or
port 0 — any free port — listens where the config does not say). Whether a headless gateway
runs decides who sends alert hooks (docs/metrics-and-hooks.md): it does, and the tray app
only while none runs, so one event is never sent twice.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

from traywidget.store.config import ConfigStore
from traywidget.store.paths import atomic_write, cache_dir, process_alive

FOLDER = "gateways"


class Announced(NamedTuple):
    port: int
    pid: int
    headless: bool


def _folder() -> Path:
    return cache_dir() / FOLDER


def _own_file() -> Path:
    return _folder() / f"{os.getpid()}.json"


def announce(port: int, *, headless: bool) -> None:
    try:
        atomic_write(_own_file(), json.dumps({"port": port, "pid": os.getpid(), "headless": headless}).encode())
    except OSError:  # the cache directory is not writable: the config's port is then what others try
        pass


def withdraw() -> None:
    _own_file().unlink(missing_ok=True)


def running() -> list[Announced]:
    """The gateways running now, oldest file first (a dead one's file is cleared away)."""
    try:
        files = sorted(_folder().glob("*.json"), key=lambda path: path.stat().st_mtime)
    except OSError:
        return []
    found: list[Announced] = []
    for path in files:
        entry = _read(path)
        if entry is None:
            continue
        if not process_alive(entry.pid):
            path.unlink(missing_ok=True)
        elif entry.port not in (other.port for other in found):
            found.append(entry)
    return found


def announced() -> list[int]:
    """The ports of the gateways running now, oldest first."""
    return [entry.port for entry in running()]


def gateway_port() -> int:
    """The port of a running gateway if one announced itself, else the config's."""
    ports = announced()
    return ports[0] if ports else ConfigStore().load().settings.gateway_port


def gateway_ports() -> list[int]:
    """Every running gateway's port, and the config's (a gateway may run there unannounced)."""
    ports = announced()
    configured = ConfigStore().load().settings.gateway_port
    return ports + ([configured] if configured and configured not in ports else [])


def headless_gateway_pid() -> int | None:
    """The process id of a headless gateway running now, if one announced itself."""
    return next((entry.pid for entry in running() if entry.headless), None)


def _read(path: Path) -> Announced | None:
    """What the file says, when it says it in that shape."""
    try:
        data = json.loads(path.read_text())
        port, pid, headless = data["port"], data["pid"], data.get("headless", True)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if type(port) is int and 0 < port <= 65535 and type(pid) is int and pid > 0 and type(headless) is bool:
        return Announced(port, pid, headless)
    return None


