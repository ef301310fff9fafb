"""The built-in demo: the loopback simulator plus demo accounts of all three
providers, with keys held in memory only. Used by `traywidget --demo` and the
CLI's `--demo` flag; it never touches the user's keyring or config.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from traywidget.store.secrets import GATEWAY_TOKEN, MemorySecretStore
from traywidget.model import Account

# The demo's local gateway token: fixed, so the demo's gateway can be tried (and tested) without a keyring.
# It guards nothing but the demo's fake keys to the loopback simulator.
DEMO_GATEWAY_TOKEN = "twg-demo-" + "0" * 43


@dataclass
class DemoSession:
    server: object  # traywidget.simulator.SimulatorServer (imported lazily: aiohttp is heavy)
    accounts: list[Account]
    secrets: MemorySecretStore

    def stop(self) -> None:
        self.server.stop()  # type: ignore[attr-defined]

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
        secrets = MemorySecretStore()
        secrets.set_secret(GATEWAY_TOKEN, DEMO_GATEWAY_TOKEN)
        accounts = []
        for item in build_demo(server.sim):
            account = Account(
                id=item["id"],
                provider=item["provider"],
                label=item["label"],
                base_url=server.url(item["provider"]),
            )
            accounts.append(account)
            secrets.set(account.id, item["api_key"])
            if item.get("management_key"):
                secrets.set(account.id, item["management_key"], management=True)
        _wait_for_demo_stream(server.sim)
    except BaseException:
        server.stop()
        raise
    return DemoSession(server=server, accounts=accounts, secrets=secrets)


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
