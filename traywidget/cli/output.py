"""How the command line prints: the tray menu's words for people, a guard for closed pipes.

People read `status` and `watch` the way they read the tray's menu (ui.text,
Qt-free): "Main — 380 requests left this hour · OK", not
`requests_hour=380/500`. Scripts read the JSON, which stays English and
stable; the words are translated where ui.text and core.formatting make them.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from traywidget.core.formatting import pad, text_width
from traywidget.core.severity import severity_of
from traywidget.model import Snapshot
from traywidget.ui.text import account_details, menu_account_line

# What a process killed by SIGPIPE returns (128 + 13): the shell convention for
# "the reader went away", which `status | head -1` and `watch | head -1` end with.
EXIT_PIPE_CLOSED = 141


class GuardedStream:
    """A text stream whose reader may go away (`| head -1`, a status bar that quit).

    The first write that finds the pipe closed marks the stream gone, points the
    file descriptor at the null device (so Python's own flush at exit cannot
    print a BrokenPipeError), and calls `on_gone`; later writes are dropped.
    The command carries on with its work (nothing half-done), and the CLI
    returns EXIT_PIPE_CLOSED.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.gone = False
        self._listeners: list[Callable[[], None]] = []

    def on_gone(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                self._stream.write(text)
            except OSError as exc:
                self._closed_by_reader(exc)
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._stream.flush()
            except OSError as exc:
                self._closed_by_reader(exc)

    def fifo_fd(self) -> int | None:
        """The descriptor when this stream is a pipe (whose reader's exit can be watched), else None."""
        import stat

        try:
            fd = self._stream.fileno()
            return fd if stat.S_ISFIFO(os.fstat(fd).st_mode) else None
        except (OSError, ValueError, AttributeError):
            return None

    def reader_left(self) -> None:
        """The reader is known to be gone before anything failed to arrive (see `watch`)."""
        if not self.gone:
            self._mark_gone()

    def _closed_by_reader(self, exc: OSError) -> None:
        # EINVAL is how Windows reports a write to a pipe whose reader has gone.
        if not isinstance(exc, BrokenPipeError) and exc.errno not in (errno.EPIPE, errno.EINVAL):
            raise exc
        self._mark_gone()

    def _mark_gone(self) -> None:
        self.gone = True
        try:
            fd = self._stream.fileno()
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, fd)
            finally:
                os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass  # not a real file (a test's StringIO): nothing will flush it at exit
        for listener in self._listeners:
            listener()


# ---------------------------------------------------------------------------------------------
# Accounts, in the menu's words


def account_lines(snap: Snapshot, now: datetime) -> list[str]:
    """The account's menu line ("Main — 380 requests left this hour · OK"), then, indented, what
    its submenu lists: provider and plan, every meter with its reset, the error, notes, the age."""
    return [menu_account_line(snap)] + ["  " + line for line in account_details(snap, now)]


def account_json(snap: Snapshot) -> dict[str, Any]:
    """One account in `status --json`, `watch --json` and the gateway's lines (docs/json.md): the
    snapshot's own JSON and its severity."""
    return {**snap.to_json(), "severity": severity_of(snap).word}


def print_status(snapshots: list[Snapshot], now: datetime, out: TextIO) -> None:
    for snap in snapshots:
        for line in account_lines(snap, now):
            print(line, file=out)


def watch_line(snap: Snapshot, now: datetime) -> str:
    """One line per change, the menu's line with the time of the change (`now`: a poll's or traffic's
    answer, or a window's reset passing): "10:37:12 Main — 380 requests left this hour · OK"."""
    if snap.fetched_at is None:
        return menu_account_line(snap)
    return f"{now.astimezone().strftime('%H:%M:%S')} {menu_account_line(snap)}"


def print_table(rows: list[tuple], out: TextIO) -> None:
    widths = [max(text_width(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(pad(str(cell), width) for cell, width in zip(row, widths)).rstrip(), file=out)
