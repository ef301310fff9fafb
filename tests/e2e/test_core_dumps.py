"""No traywidget process can leave a core dump of its memory (which holds the user's keys)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.desktop_session import free_port, sim_up, stop_process, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")]

AFTER_MAIN = """
import ctypes, resource
from traywidget.__main__ import main
libc = ctypes.CDLL(None)
before = libc.prctl(3, 0, 0, 0, 0)  # PR_GET_DUMPABLE
try:
    main(["--version"])
except SystemExit:
    pass
print(before, libc.prctl(3, 0, 0, 0, 0), *resource.getrlimit(resource.RLIMIT_CORE))
"""


def test_the_entry_point_makes_the_process_undumpable():
    ran = subprocess.run([sys.executable, "-c", AFTER_MAIN], capture_output=True, text=True, timeout=60, check=True)
    assert ran.stdout.splitlines()[-1] == "1 0 0 0"


def test_a_running_traywidget_has_a_core_size_limit_of_zero(tmp_path):
    port = free_port()
    env = {"TRAYWIDGET_CONFIG_DIR": str(tmp_path / "config"), "TRAYWIDGET_CACHE_DIR": str(tmp_path / "cache"),
           "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen([sys.executable, "-m", "traywidget", "simulate", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: sim_up(port), 30, what="the simulator listening")
        limits = Path(f"/proc/{proc.pid}/limits").read_text()
        assert re.search(r"^Max core file size\s+0\s+0\s+bytes", limits, re.MULTILINE), limits
    finally:
        stop_process(proc)
