"""What the benchmarks share: results and statistics, the simulator process,
the app's files and environment, a desktop with a real tray, /proc readings."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

# --------------------------------------------------------------------- results


@dataclass
class Result:
    bench: str
    metric: str
    value: float | None  # the median (or the single figure)
    unit: str
    target: str = ""
    ok: bool | None = None  # None: no target, reported only
    runs: Sequence[Any] = ()
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {k: (list(v) if k == "runs" else v) for k, v in self.__dict__.items()}


@dataclass
class Context:
    quick: bool = False
    build_binary: bool = False
    log: Callable[[str], None] = field(default=lambda text: print(text, file=sys.stderr, flush=True))
    # With `--baseline`: (the baseline's checkout, its venv's python). A benchmark the baseline's own
    # bench does not have may measure the baseline's code itself and put those figures in `before`.
    baseline: tuple[Path, Path] | None = None
    before: list[Result] = field(default_factory=list)

    def reps(self, full: int, quick: int = 2) -> int:
        return quick if self.quick else full


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def rnd(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits}g}")


def p99(values: Sequence[float]) -> float:
    """The 99th percentile (statistics' exclusive method); the largest value below 100 samples."""
    if not values:
        raise ValueError("p99 of no values")
    return statistics.quantiles(values, n=100)[98] if len(values) >= 100 else max(values)


def paired_differences(through: Sequence[float], direct: Sequence[float]) -> list[float]:
    """What a route added to each request: `through[i] - direct[i]`, pair by pair.

    The two lists are the same requests measured side by side (request i through the gateway
    right beside request i direct), so a percentile of these differences is the percentile of
    the added delay. The difference of two percentiles is not: the slowest gateway request and
    the slowest direct one are different requests."""
    if len(through) != len(direct):
        raise ValueError(f"unpaired measurements: {len(through)} through, {len(direct)} direct")
    return [t - d for t, d in zip(through, direct)]


def added(through: Sequence[float], direct: Sequence[float]) -> tuple[float, float]:
    """(median, p99) of what a route added per request, from paired measurements."""
    per_request = paired_differences(through, direct)
    return median(per_request), p99(per_request)


# ------------------------------------------------------------------ simulator


class SimProcess:
    """bench.simproc in its own process; talks to it over its /_bench endpoints."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def __enter__(self) -> SimProcess:
        self.proc = subprocess.Popen([PY, "-m", "bench.simproc"], cwd=ROOT, env=bench_env(),
                                     stdout=subprocess.PIPE, text=True)
        line = read_line(self.proc, "READY", 20)
        self.port = int(line.split()[1])
        import httpx

        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()
        stop(self.proc)

    @classmethod
    def attach(cls, port: int) -> SimProcess:
        """A client of a simulator another process started."""
        import httpx

        sim = cls()
        sim.port = port
        sim.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        return sim

    def base_url(self, provider: str, host: int = 0) -> str:
        from traywidget.simulator.wire import PREFIXES

        return f"http://127.0.0.{host + 1}:{self.port}{PREFIXES[provider]}"

    def add(self, provider: str, n: int = 1, **options: Any) -> list[dict[str, Any]]:
        reply = self.http.post("/_bench/accounts", json={"provider": provider, "n": n, **options})
        reply.raise_for_status()
        return reply.json()["accounts"]

    def mark(self) -> None:
        self.http.post("/_bench/mark").raise_for_status()

    def stats(self) -> dict[str, Any]:
        reply = self.http.get("/_bench/stats")
        reply.raise_for_status()
        return reply.json()


def make_accounts(sim: SimProcess, provider: str, n: int, prefix: str, hosts: int = 1, **options: Any):
    """n accounts in the simulator and as traywidget Accounts; returns (accounts, MemorySecretStore, items)."""
    from traywidget.model import Account
    from traywidget.store.secrets import MemorySecretStore

    items = sim.add(provider, n, **options)
    store = MemorySecretStore()
    accounts = []
    for i, item in enumerate(items):
        account = Account(id=f"{prefix}-{i}", provider=provider, label=f"{prefix} {i}",
                          base_url=sim.base_url(provider, i % hosts))
        accounts.append(account)
        store.set(account.id, item["api_key"])
        if item.get("management_key"):
            store.set(account.id, item["management_key"], management=True)
    return accounts, store, items


# ------------------------------------------------------------------ processes


def bench_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_API": "pyside6", **extra}
    return env


def read_line(proc: subprocess.Popen, prefix: str, timeout: float) -> str:
    """The first stdout line starting with prefix (bounded in time)."""
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]  # started with stdout=PIPE
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            line = proc.stdout.readline()  # type: ignore[union-attr]  # started with stdout=PIPE
            if not line:
                break
            if line.startswith(prefix):
                return line.strip()
    finally:
        sel.close()
    raise RuntimeError(f"no {prefix!r} line from {proc.args} within {timeout} s (exit {proc.poll()})")


# One way to end a helper process, shared with the desktop tests.
from tests.desktop_session import stop_process as stop  # noqa: E402 - kept beside the process helpers it joins (see the comment above)


def cpu_seconds(pid: int) -> float:
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def thread_switches(pid: int) -> dict[int, int]:
    """Context switches (voluntary + involuntary) of each live thread of the process, by thread id."""
    counts = {}
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue  # the thread ended while we looked
        counts[int(status.parent.name)] = sum(int(n) for n in re.findall(r"ctxt_switches:\s+(\d+)", text))
    return counts


def wakeups_over(pid: int, seconds: float, every: float = 0.1) -> int:
    """Context switches of all the process's threads over `seconds`.

    Sampled every `every` s, thread by thread: a thread that ends in the window (Qt's pool threads
    expire after 30 s idle) takes only its switches since the last sample with it, and one that starts
    in the window counts from zero. (Summing the live threads once at each end made the figure negative
    when a busy thread had ended in between.)"""
    last = thread_switches(pid)
    total = 0
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(every, left))
        current = thread_switches(pid)
        total += sum(count - last.get(tid, 0) for tid, count in current.items())
        last = current
    return total


def proc_status_kb(pid: int, field_name: str) -> int:
    match = re.search(rf"^{field_name}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(match.group(1)) if match else 0


# ------------------------------------------------------------------ the app


@contextmanager
def app_home(accounts, store, cache_snapshots=None) -> Iterator[dict[str, str]]:
    """A throw-away config dir, cache dir and bench keyring holding these accounts;
    yields the environment the app runs with."""
    from traywidget.store.cache import SnapshotCache
    from traywidget.store.config import Config, ConfigStore

    root = Path(tempfile.mkdtemp(prefix="traywidget-bench-"))
    try:
        ConfigStore(root / "config").save(Config(accounts=tuple(accounts)))
        if cache_snapshots:
            SnapshotCache(root / "cache").save(cache_snapshots)
        # The app's one keyring entry (service traywidget, user keys), as KeyringSecretStore writes it.
        entry = {"keys": json.dumps({"version": 1, "keys": store.read_all()}, separators=(",", ":"))}
        yield bench_env(
            TRAYWIDGET_CONFIG_DIR=str(root / "config"),
            TRAYWIDGET_CACHE_DIR=str(root / "cache"),
            TRAYWIDGET_INSTANCE_NAME=f"traywidget-bench-{os.getpid()}-{root.name}",
            PYTHON_KEYRING_BACKEND="bench.memkeyring.MemKeyring",
            TRAYWIDGET_BENCH_KEYS=json.dumps(entry),
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


APP_CMD = [PY, "-m", "traywidget"]
BARE_CMD = [PY, "-m", "bench.bare_tray"]


# ------------------------------------------------------------------ desktop


def have_tray_tools() -> bool:
    return all(shutil.which(t) for t in ("Xvfb", "trayer", "xwininfo"))


@contextmanager
def desktop(env: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
    """Xvfb + trayer (a real XEmbed tray); yields the environment with DISPLAY."""
    sys.path.insert(0, str(ROOT))
    from tests.desktop_session import trayer, xvfb

    with xvfb(dict(env or os.environ)) as denv, trayer(denv):
        yield denv


def docked_icons(display_env: dict[str, str]) -> int:
    """How many client windows are docked in trayer's panel right now."""
    out = subprocess.run(["xwininfo", "-root", "-tree"], env=display_env, capture_output=True,
                         text=True, timeout=5).stdout
    count, in_panel, depth = 0, False, 0
    for line in out.splitlines():
        indent = len(line) - len(line.lstrip())
        if '"panel": ("panel" "trayer")' in line:
            in_panel, depth = True, indent
            continue
        if in_panel:
            if indent <= depth and line.strip():
                in_panel = False
            elif re.search(r'\("[^"]*" "[^"]*"\)', line):
                count += 1
    return count


def time_to_dock(proc: subprocess.Popen, display_env: dict[str, str], t0: float, timeout: float = 60.0) -> float:
    """Seconds from t0 (monotonic, taken just before Popen) until proc's icon docks in the tray."""
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        if docked_icons(display_env) > 0:
            return time.monotonic() - t0
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode} before its icon docked")
        time.sleep(0.005)
    raise RuntimeError(f"{proc.args}: no icon docked within {timeout} s")


def wait_undocked(display_env: dict[str, str], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and docked_icons(display_env) > 0:
        time.sleep(0.05)


# ------------------------------------------------------------------ machine


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import psutil

        ram = f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
    except ImportError:
        ram = "?"
    try:
        import PySide6

        pyside = PySide6.__version__
    except ImportError:
        pyside = "?"
    from importlib.metadata import version

    return {
        "CPU": f"{cpu}, {os.cpu_count()} logical cores",
        "RAM": ram,
        "OS": f"{platform.system()} {platform.release()} ({_os_name()})",
        "Python": platform.python_version(),
        "PySide6": pyside,
        "qasync / httpx / httpcore": f"{version('qasync')} / {version('httpx')} / {version('httpcore')}",
    }


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return "?"


def run_child(module: str, args: Sequence[str], env: dict[str, str], timeout: float) -> Any:
    """Run `python -m module args` and return the JSON it prints on its last stdout line."""
    done = subprocess.run([PY, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{module} failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
