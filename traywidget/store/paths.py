"""Where traywidget keeps its files, computed when asked (never at import).

TRAYWIDGET_CONFIG_DIR and TRAYWIDGET_CACHE_DIR override the platform
directories: tests, the demo and the packaged smoke test use them so they
never touch a user's real files.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from traywidget import APP_NAME


def config_dir() -> Path:
    override = os.environ.get("TRAYWIDGET_CONFIG_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    override = os.environ.get("TRAYWIDGET_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


_TEMP_SUFFIX = ".tmp"


def temp_files_of(path: Path) -> list[Path]:
    """The temporary files atomic_write makes beside `path`: one a save killed midway left behind, or one
    another process is writing right now (tidy them only while no writer can hold one)."""
    return list(path.parent.glob(f"{_temp_prefix(path)}*{_TEMP_SUFFIX}"))


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace `path` with `data` so that a crash at any point leaves either
    the old file or the new one, never a mix: write a temporary file in the
    same directory, fsync it, rename it over the target, fsync the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=_TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # Windows cannot open directories; the rename is already durable enough
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def process_alive(pid: int) -> bool:
    """Whether the process that left a file here (a gateway's or the demo's announcement) still runs."""
    if sys.platform == "win32":  # no cheap check without psutil: a stale file then costs one refused connect
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True
