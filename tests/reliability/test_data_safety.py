"""Nothing is lost: the usage history and the snapshot cache survive SIGKILL
at random moments and arbitrary corruption; a corrupt config is kept aside
with a message and never overwritten silently.

(Config SIGKILL during saves is covered by tests/store/test_config.py and a
single history SIGKILL by tests/store/test_history.py; this adds many kills
with a durability check, the cache, and the command line's handling of a
corrupt config.)
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.e2e.cli import cli_env, run_cli
from traywidget.model import Meter, Snapshot, State, Unit, utcnow
from traywidget.store.cache import SnapshotCache

ROOT = Path(__file__).resolve().parents[2]


def _kill_after(proc: subprocess.Popen, seconds: float) -> list[str]:
    """SIGKILL proc after `seconds`; returns every line it printed."""
    time.sleep(seconds)
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    return out.splitlines()


HISTORY_WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[2])
    from traywidget.store.history import HistoryStore
    from traywidget.model import Meter, Snapshot, State, Unit
    start = int(sys.argv[3])
    h = HistoryStore(sys.argv[1], min_interval_s=0, keep_s=1e12)
    print("ready", flush=True)
    i = start
    while True:
        s = Snapshot(account_id="a", provider="routing.run", label="A", state=State.OK,
                     meters=tuple(Meter(f"m{k}", Unit.REQUESTS, limit=1000, remaining=i % 1000) for k in range(5)))
        assert h.record(s, 1_700_000_000 + i) == 5
        print(i, flush=True)  # acknowledged: record() returned, the transaction committed
        i += 1
""")


@pytest.mark.slow
def test_history_survives_sigkill_during_hundreds_of_writes(tmp_path, report):
    from traywidget.store.history import HistoryStore

    rng = random.Random(5)
    crashes, writes, next_i = 0, 0, 0
    for _ in range(25):
        proc = subprocess.Popen([sys.executable, "-c", HISTORY_WRITER, str(tmp_path), str(ROOT), str(next_i)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        lines = _kill_after(proc, rng.uniform(0.05, 0.25))
        crashes += 1
        acknowledged = [int(x) for x in lines if x.strip().isdigit()]
        with HistoryStore(tmp_path, min_interval_s=0, keep_s=1e12) as h:
            rows = h.series("a", "m0", 0)
            stamps = [int(ts) - 1_700_000_000 for ts, _ in rows]
            # Every acknowledged write is there (a process crash loses no committed transaction) ...
            missing = set(acknowledged) - set(stamps)
            assert not missing, f"round {crashes}: {len(missing)} acknowledged writes lost"
            # ... no torn rows: every meter of a sample, and strictly increasing time.
            assert all(b > a for a, b in zip(stamps, stamps[1:]))
            for k in range(1, 5):
                assert len(h.series("a", f"m{k}", 0)) == len(rows)
            writes = len(rows)
            next_i = (stamps[-1] + 1) if stamps else 0
        assert not list(tmp_path.glob("*.corrupt-*")), "the store was moved aside after a kill"
    assert writes >= 300, writes
    report(f"data safety / history: {crashes} SIGKILLs during {writes} sample writes; 0 acknowledged writes lost, "
           f"0 torn rows, never moved aside")


CACHE_WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[2])
    from datetime import datetime, timezone
    from traywidget.store.cache import SnapshotCache
    from traywidget.model import Meter, Snapshot, State, Unit
    cache = SnapshotCache(__import__("pathlib").Path(sys.argv[1]))
    print("ready", flush=True)
    i = 0
    while True:
        snaps = [Snapshot(account_id=f"acc{n}", provider="routing.run", label=f"acc{n}", state=State.OK,
                          meters=(Meter("requests_hour", Unit.REQUESTS, used=i % 500, limit=500,
                                        remaining=500 - i % 500),),
                          fetched_at=datetime.now(timezone.utc))
                 for n in range(30)]
        cache.save(snaps)
        i += 1
""")


@pytest.mark.slow
def test_snapshot_cache_survives_random_sigkills(tmp_path, report):
    rng = random.Random(11)
    cache = SnapshotCache(tmp_path)
    crashes = loaded_full = 0
    for _ in range(40):
        proc = subprocess.Popen([sys.executable, "-c", CACHE_WRITER, str(tmp_path), str(ROOT)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        _kill_after(proc, rng.uniform(0.0, 0.1))
        crashes += 1
        snaps = cache.load()
        if cache.path.exists():  # an atomic save leaves the old file or the new one, whole
            assert len(snaps) == 30 and all(s.stale and s.meter("requests_hour") for s in snaps)
            m = snaps[0].meter("requests_hour")
            assert m.used + m.remaining == m.limit
            loaded_full += 1
        else:
            assert snaps == []
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    report(f"data safety / snapshot cache: {crashes} SIGKILLs during saves; {loaded_full} loads after a kill "
           f"returned every account whole, 0 raised ({len(leftovers)} orphan temp files left)")


@pytest.mark.slow
def test_snapshot_cache_survives_arbitrary_corruption(tmp_path, report):
    cache = SnapshotCache(tmp_path)
    snaps = [Snapshot(account_id=f"acc{n}", provider="openrouter", label=f"acc{n}", state=State.LOW,
                      meters=(Meter("credits", Unit.USD, used=4.5, limit=5.0, remaining=0.5),
                              Meter("free_requests_day", Unit.REQUESTS, used=10, limit=50, remaining=40,
                                    estimated=True)),
                      fetched_at=utcnow(), notes=("note",)) for n in range(3)]
    cache.save(snaps)
    good = cache.path.read_bytes()
    rng = random.Random(3)
    variants: list[bytes] = [good[:cut] for cut in range(len(good))]  # every truncation
    for _ in range(400):  # random byte flips, insertions and deletions
        data = bytearray(good)
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(len(data))
            action = rng.random()
            if action < 0.5:
                data[pos] = rng.randrange(256)
            elif action < 0.75:
                data.insert(pos, rng.randrange(256))
            else:
                del data[pos]
        variants.append(bytes(data))
    variants += [b"", b"\x00" * 100, os.urandom(500), b"null", b"[]", b'{"accounts": null}', b'{"accounts": 7}']
    variants += [b'{"accounts": [null]}', b'{"accounts": [1, "x", []]}']
    survived = partial = 0
    for data in variants:
        cache.path.write_bytes(data)
        loaded = cache.load()  # must never raise
        assert isinstance(loaded, list) and all(isinstance(s, Snapshot) and s.stale for s in loaded)
        survived += 1
        partial += bool(loaded)
    cache.save(snaps)  # the next save repairs the file
    assert [s.account_id for s in cache.load()] == [s.account_id for s in snaps]
    report(f"data safety / snapshot cache: {survived} corrupted files loaded without raising "
           f"({len(good)} truncations + 400 random edits + 9 odd files; {partial} still gave snapshots)")


@pytest.mark.slow
def test_cli_keeps_a_corrupt_config_aside_and_says_so(tmp_path):
    env = cli_env(dict(os.environ), tmp_path)
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    corrupt = b'{"version": 1, "accounts": [{"id": "work", "provider": "routing.run"'  # a save cut short by hand
    (config_dir / "config.json").write_bytes(corrupt)
    first = run_cli(env, "accounts", "add", "openrouter", "--id", "new")
    assert first.code == 2, first.err  # docs/cli.md: an unreadable config stops the command
    asides = list(config_dir.glob("config.json.corrupt-*"))
    assert len(asides) == 1 and asides[0].read_bytes() == corrupt
    assert asides[0].name in first.err and "Traceback" not in first.err
    # The new config has only what was added since; the kept copy is never touched again.
    assert run_cli(env, "accounts", "add", "openrouter", "--id", "new").code == 0
    listed = run_cli(env, "accounts", "list", "--json")
    assert [a["id"] for a in json.loads(listed.out)["accounts"]] == ["new"]
    assert listed.err == ""
    run_cli(env, "accounts", "remove", "new")
    assert asides[0].read_bytes() == corrupt
    assert len(list(config_dir.glob("config.json.corrupt-*"))) == 1


@pytest.mark.slow
@pytest.mark.parametrize("content", [b"[" * 100_000])
def test_cli_survives_a_deeply_nested_config(tmp_path, content):
    env = cli_env(dict(os.environ), tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.json").write_bytes(content)
    result = run_cli(env, "accounts", "list")
    assert "Traceback" not in result.err and result.code == 2  # docs/cli.md: an unreadable config is exit 2
