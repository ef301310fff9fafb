"""How the command line prints: the tray menu's words for people, a guard for closed pipes.

People read `status` and `watch` the way they read the tray's menu (present.text,
Qt-free): "Main — 380 requests left this hour · OK", not
`requests_hour=380/500`. Scripts read the JSON, which stays English and
stable; the words are translated where present.text and present.formatting make them.
"""

from __future__ import annotations

import errno
import os
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import Protocol, TextIO

from traywidget.model import Snapshot
from traywidget.present.formatting import pad, text_width
from traywidget.present.text import account_details, menu_account_line

# What a process killed by SIGPIPE returns (128 + 13): the shell convention for
# "the reader went away", which `status | head -1` and `watch | head -1` end with.
EXIT_PIPE_CLOSED = 141


# Kept as they are: line breaks and tabs (the output's own layout), and the joiners that emoji and
# Persian or Indic text need, which move nothing.
_KEPT = frozenset("\n\t\u200c\u200d")


def terminal_safe(text: str) -> str:
    """`text` with every character that could drive a terminal or reorder what it shows written out
    as a visible \\uXXXX escape: control characters (ESC starts colour, title and clipboard
    sequences; CR overwrites a line), bidi overrides and isolates (U+202A-U+202E, U+2066-U+2069,
    U+200E/F, U+061C), zero-width and line-separator characters. Labels, provider messages and
    account ids reach the terminal from places the user does not control (a config edited by a
    tool, a provider's error text), so every line the CLI prints passes through here: it is the
    output boundary. The escape is JSON's own, so `--json` output stays valid and means the same."""
    if text.isascii() and text.isprintable():
        return text  # the usual case, at C speed
    return "".join(f"\\u{ord(char):04x}" if _unsafe(char) else char for char in text)


def _unsafe(char: str) -> bool:
    if char in _KEPT:
        return False
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")


class Writer(Protocol):
    """Where a command writes its text: a TextIO, or the GuardedStream the CLI hands every command."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


class GuardedStream:
    """A text stream whose reader may go away (`| head -1`, a status bar that quit).

    Every write is made terminal_safe. The first write that finds the pipe closed marks the
    stream gone, points the file descriptor at the null device (so Python's own flush at exit
    cannot print a BrokenPipeError), and calls `on_gone`; later writes are dropped.
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
                self._stream.write(terminal_safe(text))
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


def print_status(snapshots: list[Snapshot], now: datetime, out: Writer) -> None:
    for snap in snapshots:
        for line in account_lines(snap, now):
            print(line, file=out)


def watch_line(snap: Snapshot, now: datetime) -> str:
    """One line per change, the menu's line with the time of the change (`now`: a poll's or traffic's
    answer, or a window's reset passing): "10:37:12 Main — 380 requests left this hour · OK"."""
    if snap.fetched_at is None:
        return menu_account_line(snap)
    return f"{now.astimezone().strftime('%H:%M:%S')} {menu_account_line(snap)}"


def print_table(rows: list[tuple], out: Writer) -> None:
    rows = [tuple(terminal_safe(str(cell)) for cell in row) for row in rows]  # measured as they will be shown
    widths = [max(text_width(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(pad(str(cell), width) for cell, width in zip(row, widths)).rstrip(), file=out)
