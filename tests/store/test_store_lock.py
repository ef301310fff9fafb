"""The stores' one lock: shared across processes, re-entrant inside one, and what loading may tidy up."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading

import pytest

from traywidget.model import Account
from traywidget.store.config import Config, ConfigStore
from traywidget.store.store_lock import StoreBusy, held_by_nobody, lock_path, store_lock

HOLDER = """
import sys
from pathlib import Path
from traywidget.store.store_lock import store_lock
with store_lock(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.readline()
"""


def _account(account_id: str) -> Account:
    return Account(account_id, "routing.run", account_id, "https://api.routing.run/v1")


def test_the_lock_is_reentrant_inside_a_process_and_0600(tmp_path):
    path = lock_path(tmp_path)
    with store_lock(path), store_lock(path):
        assert not held_by_nobody(path)
    assert held_by_nobody(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_another_thread_waits_for_the_lock(tmp_path):
    path = lock_path(tmp_path)
    order: list[str] = []
    with store_lock(path):
        waiter = threading.Thread(target=lambda: _take_then(path, order))
        waiter.start()
        waiter.join(0.2)  # it cannot finish while this thread holds the lock
        order.append("first done")
    waiter.join(5)
    assert order == ["first done", "other"]


def _take_then(path, order):
    with store_lock(path):
        order.append("other")


@pytest.mark.slow
def test_a_temp_file_in_flight_survives_loading_and_an_orphan_does_not(tmp_path):
    """Another process is writing the config (it holds the lock and its temp file exists): loading reads the
    file and leaves the temp file alone. Once nobody writes, a temp file left behind is an orphan: tidied."""
    store = ConfigStore(tmp_path)
    store.save(Config(accounts=(_account("main"),)))
    in_flight = tmp_path / ".config.json.abcd1234.tmp"
    in_flight.write_bytes(b"{")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(store.lock_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        assert [a.id for a in store.load().accounts] == ["main"]
        assert in_flight.exists()
        with pytest.raises(StoreBusy), store_lock(store.lock_path, timeout_s=0.3):
            pass
    finally:
        holder.communicate("\n", timeout=10)
    assert [a.id for a in store.load().accounts] == ["main"]
    assert not in_flight.exists()
    assert sorted(os.listdir(tmp_path)) == ["config.json", "store.lock"]


def test_update_edits_the_file_as_it_is_now(tmp_path):
    early, late = ConfigStore(tmp_path), ConfigStore(tmp_path)
    stale = early.load()
    late.update(lambda c: c.with_account(_account("a")))
    result = early.update(lambda c: c.with_account(_account("b")))
    assert stale.accounts == () and [a.id for a in result.accounts] == ["a", "b"]
    assert [a.id for a in ConfigStore(tmp_path).load().accounts] == ["a", "b"]
