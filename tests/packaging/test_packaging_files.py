"""The packaging scripts and spec: they parse, the entry point dispatches, and a built binary (when
there is one) passes the smoke test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from traywidget import __version__

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"


@pytest.mark.slow
@pytest.mark.parametrize("script", ["build.sh", "smoke.sh", "screenshots.sh"])
def test_shell_scripts_parse(script: str) -> None:
    path = PACKAGING / script
    assert path.is_file()
    assert os.access(path, os.X_OK), f"{script} must be executable"
    proc = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


def test_spec_compiles_and_names_what_it_needs() -> None:
    text = (PACKAGING / "traywidget.spec").read_text()
    compile(text, "traywidget.spec", "exec")
    for needle in ("entry.py", "traywidget.resources", "TRAYWIDGET_ONEDIR", "LSUIElement", "traywidget.icns",
                   "traywidget.ico", "trim_icu", "QtNetwork", "QtWebEngineCore", "keyrings.alt"):
        assert needle in text, needle


@pytest.mark.slow
def test_entry_point_runs_the_cli() -> None:
    proc = subprocess.run([sys.executable, str(PACKAGING / "entry.py"), "--version"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"traywidget {__version__}"


@pytest.mark.slow
def test_generated_files_are_ignored_by_git() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for path in ("build/venv/x", "dist/traywidget", "shots/menu.png"):
        proc = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", path], timeout=30)
        assert proc.returncode == 0, f"{path} should be git-ignored"


def _built_binary() -> Path | None:
    override = os.environ.get("TRAYWIDGET_BINARY")
    if override:
        return Path(override)
    for candidate in (ROOT / "dist" / "traywidget", ROOT / "dist" / "traywidget" / "traywidget"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.mark.slow
def test_built_binary_passes_the_smoke_test() -> None:
    binary = _built_binary()
    if binary is None:
        message = "no packaged binary: run packaging/build.sh (or set TRAYWIDGET_BINARY)"
        if os.environ.get("CI") == "true":  # .ci/run builds it first: there it must be tested
            pytest.fail(message)
        pytest.skip(message)
    proc = subprocess.run(["bash", str(PACKAGING / "smoke.sh"), str(binary)],
                          env={**os.environ, "PY": sys.executable}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_pyside6_floor_excludes_the_known_bad_releases() -> None:
    """≥ 6.11.3 on every Python (QTBUG-147449: a tray click aborts on macOS 26/27 before Qt 6.11.3);
    never 6.12.0 on Python 3.11 (it drops references to None until CPython aborts)."""
    import tomllib

    from packaging.requirements import Requirement

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pyside = [Requirement(d) for d in deps if d.startswith("PySide6")]
    for python in ("3.11", "3.12", "3.13", "3.14"):
        env = {"python_version": python, "sys_platform": "darwin"}
        (req,) = [r for r in pyside if r.marker is None or r.marker.evaluate(env)]
        assert req.name == "PySide6-Essentials"
        for version, allowed in (("6.11.2", False), ("6.11.3", True), ("6.13.0", True),
                                 ("6.12.0", python != "3.11")):
            assert req.specifier.contains(version) is allowed, (python, version)
