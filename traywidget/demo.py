"""The built-in demo: the loopback simulator plus demo accounts of all three
providers and an OpenAI-compatible one, with keys held in memory only. Used by
`traywidget --demo` and the CLI's `--demo` flag; it never touches the user's
keyring or config.

A running tray demo announces itself (its accounts' base URLs, its gateway's
port, its process id; never a key) in the cache directory, so that
`traywidget --demo status|watch|kill|gateway env` reach that demo — its
streams, its gateway — instead of starting a world of their own.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from traywidget.model import Account
from traywidget.store.secrets import GATEWAY_TOKEN, MemorySecretStore

if TYPE_CHECKING:
    from traywidget.simulator import SimulatorServer

# The demo's local gateway token: fixed, so the demo's gateway can be tried (and tested) without a keyring.
# It guards nothing but the demo's fake keys to the loopback simulator.
DEMO_GATEWAY_TOKEN = "twg-demo-" + "0" * 43


DEMO_FILE = "demo-address.json"


@dataclass
class DemoSession:
    server: SimulatorServer | None  # imported lazily (aiohttp is heavy); None: another process's
    accounts: list[Account]
    secrets: MemorySecretStore
    gateway_port: int | None = None  # the running tray demo's gateway, when this session reaches one

    def stop(self) -> None:
        if self.server is not None:  # a running tray demo's simulator is that demo's to stop
            self.server.stop()

    def __enter__(self) -> DemoSession:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_demo(port: int | None = None) -> DemoSession:
    """Start the demo world. The simulator listens on `port`; by default on
    TRAYWIDGET_DEMO_PORT (so desktop tests can reach its /_sim API), else a free port."""
    from traywidget.simulator import SimulatorServer, build_demo

    if port is None:
        port = int(os.environ.get("TRAYWIDGET_DEMO_PORT") or "0")

    server = SimulatorServer(port=port)
    server.start()
    try:
        items = build_demo(server.sim)
        accounts = [Account(id=item["id"], provider=item["provider"], label=item["label"],
                            base_url=server.url(item["provider"])) for item in items]
        _wait_for_demo_stream(server.sim)
    except BaseException:
        server.stop()
        raise
    return DemoSession(server=server, accounts=accounts, secrets=_demo_secrets(items))


def _demo_secrets(items: list[dict]) -> MemorySecretStore:
    secrets = MemorySecretStore()
    secrets.set_secret(GATEWAY_TOKEN, DEMO_GATEWAY_TOKEN)
    for item in items:
        secrets.set(item["id"], item["api_key"])
        if item.get("management_key"):
            secrets.set(item["id"], item["management_key"], management=True)
    return secrets


# --- a running tray demo, reached from the command line --------------------------------------------------
def _demo_file() -> Path:
    from traywidget.store.paths import cache_dir

    return cache_dir() / DEMO_FILE


def announce_demo(accounts: list[Account], gateway_port: int | None) -> None:
    """Say where this process's tray demo is (its accounts' addresses and its gateway; no keys)."""
    from traywidget.store.paths import atomic_write

    data = {"pid": os.getpid(), "gateway_port": gateway_port,
            "accounts": [{"id": a.id, "provider": a.provider, "label": a.label, "base_url": a.base_url}
                         for a in accounts]}
    try:
        atomic_write(_demo_file(), json.dumps(data).encode())
    except OSError:  # an unwritable cache: the CLI's --demo then starts a world of its own, as before
        pass


def withdraw_demo() -> None:
    """This process's demo is ending: forget its announcement (not another demo's)."""
    try:
        if json.loads(_demo_file().read_text()).get("pid") == os.getpid():
            _demo_file().unlink(missing_ok=True)
    except (OSError, ValueError, AttributeError):
        pass


def running_demo() -> DemoSession | None:
    """The running tray demo (its simulator and gateway, the demo keys in memory), or None when none runs."""
    from traywidget.simulator import demo_accounts
    from traywidget.store.paths import process_alive

    try:
        data = json.loads(_demo_file().read_text())
        pid, port = data["pid"], data["gateway_port"]
        accounts = [Account(id=a["id"], provider=a["provider"], label=a["label"], base_url=a["base_url"])
                    for a in data["accounts"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if type(pid) is not int or not process_alive(pid) or not (port is None or type(port) is int):
        return None
    if not accounts or not _listening(accounts[0].base_url):  # a process that reused the pid: no demo
        return None
    items = [item for item in demo_accounts() if item["id"] in {a.id for a in accounts}]
    return DemoSession(server=None, accounts=accounts, secrets=_demo_secrets(items), gateway_port=port)


def reach_demo() -> DemoSession:
    """The running tray demo when there is one, else a demo world of this command's own."""
    return running_demo() or start_demo()


def _listening(url: str) -> bool:
    """Whether the demo's simulator answers a connection at `url`'s loopback address (in a moment)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=0.5):
            return True
    except OSError:
        return False


def _wait_for_demo_stream(sim, timeout_s: float = 2.0) -> None:
    """The demo keeps a stream running for "Kill all streams" to stop; the
    simulator opens it on its next tick. Wait for it (briefly), so even a
    `traywidget kill --demo` right at start has something to stop."""
    import time

    deadline = time.monotonic() + timeout_s
    while not sim.active_streams() and time.monotonic() < deadline:
        time.sleep(0.05)


def demo_history_rows(snapshot, now: float, hours: float = 24.0, step_s: float = 300.0) -> list[tuple]:
    """A simulated past day of samples for one demo account, so a newcomer sees
    the panel's sparklines at once. Only the demo calls this: real history is
    only ever what the app itself observed."""
    import math

    rows = []
    steps = int(hours * 3600 / step_s)
    for meter in snapshot.meters:
        if meter.limit is None or meter.remaining is None or meter.approximate_reset:
            continue
        window = 3600.0 if meter.name == "requests_hour" else 86400.0
        for i in range(steps, 0, -1):
            ts = now - i * step_s
            into_window = (ts % window) / window  # how far into its window this sample is
            busy = 0.55 + 0.45 * math.sin(2 * math.pi * (ts % 86400) / 86400 - 1.2)  # a working day
            used = meter.limit * min(0.95, into_window * busy)
            rows.append((snapshot.account_id, meter.name, ts, round(meter.limit - used), meter.limit))
    return rows
