"""One app per user: the lock decides, the socket hands over, a crash never blocks the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import pytest

from tests.desktop_session import wait_until
from traywidget.ui.single_instance import SingleInstance, runtime_dir

HOLD = """
import sys
from PySide6.QtCore import QCoreApplication
from traywidget.ui.single_instance import SingleInstance
app = QCoreApplication([])
instance = SingleInstance(sys.argv[1])
claimed = instance.claim()
print("claimed" if claimed else "refused", flush=True)
if claimed:
    app.exec()
"""


def unique() -> str:
    return f"traywidget-test-{uuid.uuid4().hex[:8]}"


@pytest.mark.slow
def test_a_second_launch_in_another_process_hands_over_and_the_first_shows(qtbot):
    name = unique()
    first = SingleInstance(name)
    assert first.claim()
    try:
        with qtbot.waitSignal(first.show_requested, timeout=5000):
            proc = subprocess.run([sys.executable, "-c", HOLD, name], capture_output=True, text=True, timeout=30)
        assert proc.stdout.strip() == "refused", proc.stderr
    finally:
        first.close()


@pytest.mark.slow
def test_a_killed_instance_never_blocks_the_next_start(qtbot):
    name = unique()
    proc = subprocess.Popen([sys.executable, "-c", HOLD, name], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "claimed"
        assert (runtime_dir() / f"{name}.sock").exists()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    # The socket file is left behind by the crash; the lock went with the process.
    assert (runtime_dir() / f"{name}.sock").exists()
    after = SingleInstance(name)
    assert after.claim()
    try:
        second = SingleInstance(name)
        with qtbot.waitSignal(after.show_requested, timeout=5000):
            assert not second.claim()
    finally:
        after.close()
    assert not (runtime_dir() / f"{name}.sock").exists()


def test_after_close_the_next_launch_becomes_the_instance():
    name = unique()
    first = SingleInstance(name)
    assert first.claim()
    first.close()
    again = SingleInstance(name)
    assert again.claim()
    again.close()


@pytest.mark.slow
def test_qtnetwork_is_not_loaded_for_single_instance():
    code = ("import sys, traywidget.ui.single_instance;"
            "assert 'PySide6.QtNetwork' not in sys.modules, 'QtNetwork loaded'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.slow
def test_many_launches_at_once_leave_exactly_one_instance(tmp_path):
    name = unique()
    procs = [subprocess.Popen([sys.executable, "-c", HOLD, name], stdout=subprocess.PIPE, text=True)
             for _ in range(6)]
    try:
        answers = [p.stdout.readline().strip() for p in procs]
        wait_until(lambda: sum(p.poll() is not None for p in procs) == 5, timeout=30, what="five to exit")
        assert sorted(answers) == ["claimed"] + ["refused"] * 5
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
