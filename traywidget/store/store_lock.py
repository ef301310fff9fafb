"""The one lock every writer of traywidget's stores takes: config.json and the keyring entry.

A file lock (flock, or msvcrt's byte lock on Windows) on `store.lock` in the config directory,
so every process of the user that uses that config — the tray, the headless gateway, any
number of `traywidget accounts …` / `keys …` commands, whatever their cache directory —
writes one at a time. Not in the cache directory: caches differ between environments
(XDG_CACHE_HOME) and may be cleared while a writer holds the lock.

Re-entrant inside a process: a config write that also deletes keys (removing an account)
takes it once. The operating system drops the lock of a process that dies, so a crash never
leaves the stores locked.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

LOCK_FILE = "store.lock"
# Beside the lock: replaced (under it) after every change of the keys, so processes that keep keys in
# memory read them again at once. It holds no secret, only a random text.
KEYS_CHANGED_FILE = "keys.changed"
# How long a writer waits for another process's write (a keyring write can wait on a D-Bus round trip).
LOCK_TIMEOUT_S = 30.0
_POLL_S = 0.02


class StoreBusy(Exception):
    """Another process held the lock for longer than the timeout."""


def lock_path(directory: Path | None = None) -> Path:
    """The lock file of the stores in `directory` (the config directory by default)."""
    if directory is None:
        from traywidget.store.paths import config_dir

        directory = config_dir()
    return directory / LOCK_FILE


def file_stamp(path: Path) -> tuple[int, int, int] | None:
    """A cheap signature of a file as it is now (None when there is none): a replaced file differs."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size, info.st_ino


@dataclass
class _Holder:
    """This process's hold on one lock file: which thread, how deep, the open file."""

    guard: threading.RLock = field(default_factory=threading.RLock)
    depth: int = 0
    handle: IO[bytes] | None = None


_holders: dict[Path, _Holder] = {}
_holders_guard = threading.Lock()


def _holder(path: Path) -> _Holder:
    with _holders_guard:
        return _holders.setdefault(path.absolute(), _Holder())


@contextmanager
def store_lock(path: Path, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the lock at `path` (see lock_path); StoreBusy after `timeout_s`, OSError when the file
    cannot be made."""
    holder = _holder(path)
    if not holder.guard.acquire(timeout=timeout_s):
        raise StoreBusy(str(path))
    try:
        if holder.depth == 0:
            holder.handle = _open(path)
            deadline = time.monotonic() + timeout_s
            while not _try_lock(holder.handle):
                if time.monotonic() > deadline:
                    holder.handle.close()
                    holder.handle = None
                    raise StoreBusy(str(path))
                time.sleep(_POLL_S)
        holder.depth += 1
        try:
            yield
        finally:
            holder.depth -= 1
            if holder.depth == 0 and holder.handle is not None:
                try:
                    _unlock(holder.handle)
                finally:
                    holder.handle.close()
                    holder.handle = None
    finally:
        holder.guard.release()


def held_by_nobody(path: Path) -> bool:
    """Whether no writer (in any process) holds the lock right now; taken and released at once.
    What may be tidied up (a killed writer's temporary file) is tidied only then."""
    holder = _holder(path)
    if not holder.guard.acquire(blocking=False):
        return False
    try:
        if holder.depth:
            return False
        try:
            handle = _open(path)
        except OSError:
            return False
        with handle:
            if not _try_lock(handle):
                return False
            _unlock(handle)
            return True
    finally:
        holder.guard.release()


def _open(path: Path) -> IO[bytes]:
    path.parent.mkdir(parents=True, exist_ok=True)
    # 0600 like the files it guards; O_APPEND: the lock file is never written, only locked.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    return os.fdopen(fd, "a+b")


if sys.platform == "win32":
    import msvcrt

    def _try_lock(handle: IO[bytes]) -> bool:
        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
