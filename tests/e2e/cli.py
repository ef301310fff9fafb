"""Run the real `traywidget` command line in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class CliRun:
    code: int
    out: str
    err: str


def cli_env(base: dict[str, str], tmp: Path) -> dict[str, str]:
    env = {**base}
    env["TRAYWIDGET_CONFIG_DIR"] = str(tmp / "config")
    env["TRAYWIDGET_CACHE_DIR"] = str(tmp / "cache")
    env.pop("QT_QPA_PLATFORM", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_cli(env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = 60) -> CliRun:
    proc = subprocess.run(
        [sys.executable, "-m", "traywidget", *args],
        input=stdin if stdin is not None else "", capture_output=True, text=True, env=env, timeout=timeout,
        cwd=os.getcwd(), check=False,
    )
    return CliRun(proc.returncode, proc.stdout, proc.stderr)


def start_cli(env: dict[str, str], *args: str) -> subprocess.Popen:
    """The CLI running in the background, its output on real pipes (to read a line, or to close)."""
    return subprocess.Popen([sys.executable, "-m", "traywidget", *args], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=os.getcwd())
