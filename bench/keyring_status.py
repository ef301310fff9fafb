"""The keyring's share of `traywidget status`: 40 accounts vs 1, on a real Secret Service.

    python -m bench keyring_status                          this checkout, into BENCHMARKS.md
    python -m bench.keyring_status --baseline OTHER_CHECKOUT  this checkout and another one, runs interleaved
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import PY, ROOT, Context, Result, SimProcess, bench_env, median, rnd

NAME = "keyring_status"
LATENCY_MS = 200
MANY = 40
TARGET_RATIO = 1.2

METHOD = f"""\
A private D-Bus session bus with an unlocked gnome-keyring (the test suite's `dbus_session` and
`secret_service`), and the simulator in its own process (`bench.simproc`) with {LATENCY_MS} ms of injected
latency on every usage request. Two throw-away config directories hold 1 and {MANY} routing.run accounts;
their API keys are saved with `KeyringSecretStore().set(...)` (what `traywidget keys set` does) in one
helper process. Then `python -m traywidget status --json` runs as a fresh process, the two sizes taking
turns, after one untimed run each (which also does any one-time key migration); every account must come
back `ok` with exit code 0. The figure is the wall time of the whole command, start to exit, and the
ratio of the medians ({MANY} / 1): with one keyring read per key it grows with the number of accounts,
with one read for all keys it stays near the cost of one slow request. `python -m bench.keyring_status
--baseline DIR` runs the same with another checkout's code (PYTHONPATH=DIR) in the same keyring and
simulator, the runs of both interleaved, for a before/after side by side."""

STORE_KEYS = (
    "import json, sys\n"
    "from traywidget.store.secrets import KeyringSecretStore\n"
    "store = KeyringSecretStore()\n"
    "for account_id, secret in json.load(sys.stdin).items():\n"
    "    store.set(account_id, secret)\n"
)


def _home(sim: SimProcess, keyring_env: dict[str, str], root: Path, n: int, prefix: str,
          code: Path = ROOT, python: Path | str = PY) -> tuple[dict[str, str], Path | str]:
    """A config dir of n accounts whose keys `code`'s traywidget saved; returns the environment of `status`."""
    from traywidget.model import Account
    from traywidget.store.config import Config, ConfigStore

    items = sim.add("routing.run", n, latency_ms=LATENCY_MS)
    accounts = [Account(id=f"{prefix}-{i}", provider="routing.run", label=f"{prefix} {i}",
                        base_url=sim.base_url("routing.run")) for i in range(n)]
    ConfigStore(root / "config").save(Config(accounts=tuple(accounts)))
    env = {**bench_env(), **keyring_env, "PYTHONPATH": str(code), "TRAYWIDGET_CONFIG_DIR": str(root / "config"),
           "TRAYWIDGET_CACHE_DIR": str(root / "cache")}
    env.pop("PYTHON_KEYRING_BACKEND", None)
    keys = {account.id: item["api_key"] for account, item in zip(accounts, items)}
    subprocess.run([str(python), "-c", STORE_KEYS], input=json.dumps(keys), text=True, env=env, cwd=code,
                   check=True, timeout=120)
    return env, python


def _status(env: dict[str, str], n: int, python: Path | str = PY) -> float:
    t0 = time.perf_counter()
    done = subprocess.run([str(python), "-m", "traywidget", "status", "--json"], env=env, cwd=env["PYTHONPATH"],
                          capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"status of {n} exited {done.returncode}: {done.stderr[-1500:]}")
    states = [a["state"] for a in json.loads(done.stdout)["accounts"]]
    if len(states) != n or set(states) != {"ok"}:
        raise RuntimeError(f"status of {n}: states {states}")
    return elapsed


def measure(reps: int, checkouts: dict[str, tuple[Path, Path | str]]) -> dict[tuple[str, int], list[float]]:
    """Wall times of `status` per (checkout label, accounts), the runs of every case taking turns.
    `checkouts`: label -> (checkout root, the python that runs it)."""
    from tests.desktop_session import dbus_session, secret_service

    with tempfile.TemporaryDirectory(prefix="traywidget-bench-keyring-") as tmp, SimProcess() as sim:
        root = Path(tmp)
        with dbus_session(root / "home") as bus_env, secret_service(bus_env) as keyring_env:
            envs = {(label, n): _home(sim, keyring_env, root / f"{label}-{n}", n, f"{label}{n}", code, python)
                    for label, (code, python) in checkouts.items() for n in (1, MANY)}
            for (_, n), (env, python) in envs.items():
                _status(env, n, python)  # untimed
            times: dict[tuple[str, int], list[float]] = {case: [] for case in envs}
            for _ in range(reps):
                for (label, n), (env, python) in envs.items():
                    times[(label, n)].append(_status(env, n, python))
    return times


def run(ctx: Context) -> list[Result]:
    checkouts = {"this": (ROOT, PY)}
    if ctx.baseline is not None:
        checkouts["baseline"] = ctx.baseline
    times = measure(ctx.reps(7, 3), checkouts)
    if ctx.baseline is not None:
        ctx.before += _results(ctx, times, "baseline")
    return _results(ctx, times, "this")


def _results(ctx: Context, times: dict[tuple[str, int], list[float]], label: str) -> list[Result]:
    one, many = times[(label, 1)], times[(label, MANY)]
    ratio = median(many) / median(one)
    ctx.log(f"  {label}: status: 1 -> {median(one):.3f} s, {MANY} -> {median(many):.3f} s, ratio {ratio:.2f}")
    return [
        Result(NAME, "status, 1 account (real Secret Service)", rnd(median(one)), "s", runs=[rnd(t) for t in one]),
        Result(NAME, f"status, {MANY} accounts (real Secret Service)", rnd(median(many)), "s",
               runs=[rnd(t) for t in many]),
        Result(NAME, f"status: {MANY} / 1 accounts", round(ratio, 2), "×", f"≤ {TARGET_RATIO}", ratio <= TARGET_RATIO),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.keyring_status", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, help="another checkout's root, measured side by side")
    parser.add_argument("--reps", type=int, default=9)
    args = parser.parse_args(argv)
    checkouts = {"this": (ROOT, PY)}
    if args.baseline:
        checkouts["baseline"] = (args.baseline.resolve(), PY)
    times = measure(args.reps, checkouts)
    for label in checkouts:
        one, many = times[(label, 1)], times[(label, MANY)]
        print(f"{label}: status 1 account {median(one):.3f} s, {MANY} accounts {median(many):.3f} s, "
              f"ratio {median(many) / median(one):.2f}  (runs 1: {' '.join(f'{t:.2f}' for t in one)}; "
              f"{MANY}: {' '.join(f'{t:.2f}' for t in many)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
