"""Startup pieces: single instance, self-test, clean SIGTERM shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import pytest

from traywidget.ui.single_instance import SingleInstance


def test_single_instance_second_launch_shows_first(qtbot):
    name = f"traywidget-test-{uuid.uuid4().hex[:8]}"
    first = SingleInstance(name)
    assert first.claim()
    try:
        second = SingleInstance(name)
        with qtbot.waitSignal(first.show_requested, timeout=3000):
            assert not second.claim()
    finally:
        first.close()


def _env(**extra):
    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)
    env.update(extra)
    return env


@pytest.mark.slow
def test_self_test_exits_zero(tmp_path):
    out = subprocess.run([sys.executable, "-m", "traywidget", "--self-test"], capture_output=True, text=True,
                         timeout=60, env=_env(TRAYWIDGET_CONFIG_DIR=str(tmp_path)))
    assert out.returncode == 0, out.stderr
    assert "self-test ok" in out.stdout


@pytest.mark.slow
def test_demo_without_tray_runs_and_quits_on_sigterm(tmp_path):
    """Offscreen has no tray: the panel is the window; SIGTERM shuts down cleanly (exit 0)."""
    from tests.desktop_session import Lines, wait_until

    env = _env(QT_QPA_PLATFORM="offscreen", TRAYWIDGET_INSTANCE_NAME=f"tw-{uuid.uuid4().hex[:8]}",
               TRAYWIDGET_CONFIG_DIR=str(tmp_path / "c"), TRAYWIDGET_CACHE_DIR=str(tmp_path / "d"))
    proc = subprocess.Popen([sys.executable, "-m", "traywidget", "--demo", "--debug"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err_lines = Lines(proc.stderr)
    try:
        # Up: the controller found no tray and showed the panel in its place.
        def panel_shown() -> bool:
            assert proc.poll() is None, "\n".join(err_lines.lines)
            return any("no system tray available" in line for line in err_lines.lines)

        wait_until(panel_shown, 60, what="the demo running without a tray")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err_lines.join(5)
    err = "\n".join(err_lines.lines)
    assert proc.returncode == 0, err
    assert "Fatal Python error" not in err
    # never a key in the debug log
    assert "sk-or-v1-" not in err and "rw-mgmt-" not in err
