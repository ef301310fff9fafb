"""How the command line prints: plain words for people, a guard for closed pipes.

People read `status` and `watch` the way they read the tray's menu: "345
requests left this hour (of 500)", not `requests_hour=345/500`. Scripts read
the JSON, which stays English and stable; everything here is translated.
"""

from __future__ import annotations

import errno
import math
import os
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from traywidget.core.formatting import format_amount, format_duration, reset_phrase
from traywidget.i18n import tr, trn
from traywidget.model import (
    BALANCE,
    CREDITS,
    FREE_REQUESTS_DAY,
    INPUT_TOKENS_WINDOW,
    OUTPUT_TOKENS_WINDOW,
    REQUESTS_DAY,
    REQUESTS_HOUR,
    REQUESTS_MINUTE,
    REQUESTS_WINDOW,
    TOKENS_WINDOW,
    Meter,
    Snapshot,
    Unit,
)
from traywidget.providers import display_name
from traywidget.ui.text import STATE_TEXT

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
# One meter, the way the menu says it


def _whole(value: float) -> int:
    return math.floor(value)


def _left_phrase(name: str, n: int) -> str | None:
    """"{n} requests left this hour (of {limit})" for a capped request or token window."""
    if name == REQUESTS_MINUTE:
        return trn("{n} request left this minute (of {limit})", "{n} requests left this minute (of {limit})", n)
    if name == REQUESTS_HOUR:
        return trn("{n} request left this hour (of {limit})", "{n} requests left this hour (of {limit})", n)
    if name == REQUESTS_DAY:
        return trn("{n} request left today (of {limit})", "{n} requests left today (of {limit})", n)
    if name == FREE_REQUESTS_DAY:
        return trn("{n} free-model request left today (of {limit})",
                   "{n} free-model requests left today (of {limit})", n)
    if name == REQUESTS_WINDOW:
        return trn("{n} request left in the current window (of {limit})",
                   "{n} requests left in the current window (of {limit})", n)
    if name == TOKENS_WINDOW:
        return trn("{n} token left in the current window (of {limit})",
                   "{n} tokens left in the current window (of {limit})", n)
    if name == INPUT_TOKENS_WINDOW:
        return trn("{n} input token left in the current window (of {limit})",
                   "{n} input tokens left in the current window (of {limit})", n)
    if name == OUTPUT_TOKENS_WINDOW:
        return trn("{n} output token left in the current window (of {limit})",
                   "{n} output tokens left in the current window (of {limit})", n)
    return None


def _used_phrase(name: str, n: int) -> str | None:
    """"{n} requests used this hour, no cap" for a window without a cap (routing.run Lite's hour)."""
    if name == REQUESTS_MINUTE:
        return trn("{n} request used this minute, no cap", "{n} requests used this minute, no cap", n)
    if name == REQUESTS_HOUR:
        return trn("{n} request used this hour, no cap", "{n} requests used this hour, no cap", n)
    if name == REQUESTS_DAY:
        return trn("{n} request used today, no cap", "{n} requests used today, no cap", n)
    if name == FREE_REQUESTS_DAY:
        return trn("{n} free-model request used today, no cap", "{n} free-model requests used today, no cap", n)
    return None


def meter_amount(meter: Meter) -> str:
    """What is left (or used) of one meter, in words: "345 requests left this hour (of 500)"."""
    approx = "≈" if meter.estimated else ""
    limit = approx + format_amount(meter.limit, meter.unit)
    if meter.unit is Unit.USD:
        if meter.name == BALANCE and meter.remaining is not None:
            return tr("{amount} account balance").format(amount=approx + format_amount(meter.remaining, meter.unit))
        if meter.name == CREDITS:
            if meter.capped and meter.remaining is not None:
                return tr("{amount} left on the key (of {limit})").format(
                    amount=approx + format_amount(meter.remaining, meter.unit), limit=limit)
            if meter.limit is None:
                return tr("no spending cap on the key")
    elif meter.capped and meter.remaining is not None:
        phrase = _left_phrase(meter.name, _whole(meter.remaining))
        if phrase:
            return phrase.format(n=approx + format_amount(_whole(meter.remaining), meter.unit), limit=limit)
    elif meter.limit is None and meter.used is not None:
        phrase = _used_phrase(meter.name, _whole(meter.used))
        if phrase:
            return phrase.format(n=approx + format_amount(_whole(meter.used), meter.unit))
    title = tr(meter.title)
    if meter.capped and meter.remaining is None:
        return tr("{title}: usage unknown (limit {limit})").format(title=title, limit=limit)
    if meter.remaining is not None:
        return tr("{title}: {amount} left").format(title=title, amount=approx + format_amount(meter.remaining, meter.unit))
    if meter.used is not None:
        return tr("{title}: {amount} used").format(title=title, amount=approx + format_amount(meter.used, meter.unit))
    return tr("{title}: unknown").format(title=title)


def meter_phrase(meter: Meter, now: datetime, clock_times: bool = False) -> str:
    """The amount, the estimate marker and the reset: "345 requests left this hour (of 500) · resets in 23 min".

    With `clock_times` the reset is a local clock time ("resets at 16:00"), for
    text that stays on screen unchanged; a rolling window's inferred reset is
    then left out (it is never more than a minute away).
    """
    parts = [meter_amount(meter)]
    if meter.estimated:
        parts.append(tr("documented estimate"))
    reset = _reset_at(meter, now) if clock_times else reset_phrase(meter.resets_at, now, meter.approximate_reset)
    if reset:
        parts.append(reset)
    return " · ".join(parts)


def _reset_at(meter: Meter, now: datetime) -> str | None:
    if meter.resets_at is None or meter.approximate_reset or meter.resets_at <= now:
        return None
    local = meter.resets_at.astimezone()
    days_ahead = (local.date() - now.astimezone().date()).days
    clock = local.strftime("%H:%M")
    if days_ahead == 0:
        return tr("resets at {time}").format(time=clock)
    if days_ahead == 1:
        return tr("resets tomorrow at {time}").format(time=clock)
    return tr("resets on {date} at {time}").format(date=local.strftime("%Y-%m-%d"), time=clock)


# ---------------------------------------------------------------------------------------------
# One account


def state_text(snap: Snapshot) -> str:
    """The state in words; a fine account that reports no figures says so instead of "OK"."""
    if snap.state.is_quota_reading and not snap.meters:
        return tr("usage unknown")
    return tr(STATE_TEXT.get(snap.state, snap.state.value))


def account_heading(snap: Snapshot) -> str:
    """"Main · routing.run Premium — OK"; provider and plan only when the label does not say them."""
    extra = [x for x in (display_name(snap.provider), snap.plan) if x and x.lower() not in snap.label.lower()]
    head = snap.label + (" · " + " ".join(extra) if extra else "")
    text = tr("{account} — {state}").format(account=head, state=state_text(snap))
    if snap.stale:
        text += " · " + tr("stale")
    if snap.streams:
        text += " · " + trn("{n} stream running", "{n} streams running", snap.streams).format(n=snap.streams)
    return text


def problem_text(snap: Snapshot) -> str | None:
    """Why the account is not fine, in the provider's words: "Rate limit exceeded (HTTP 429) · retry in 20 s"."""
    if snap.error is None:
        return None
    text = snap.error.message.splitlines()[0][:200] if snap.error.message else tr(STATE_TEXT[snap.state])
    if snap.error.http_status:
        text = tr("{message} (HTTP {status})").format(message=text, status=snap.error.http_status)
    if snap.error.retry_after_s:
        text += " · " + tr("retry in {duration}").format(duration=format_duration(snap.error.retry_after_s))
    return text


def account_lines(snap: Snapshot, now: datetime) -> list[str]:
    """The heading, then one indented line per meter, the problem and each note."""
    lines = [account_heading(snap)]
    problem = problem_text(snap)
    if problem:
        lines.append("  " + problem)
    lines.extend("  " + meter_phrase(meter, now) for meter in snap.meters)
    lines.extend("  " + tr(note) for note in snap.notes)
    return lines


def print_status(snapshots: list[Snapshot], now: datetime, out: TextIO) -> None:
    for snap in snapshots:
        for line in account_lines(snap, now):
            print(line, file=out)


def watch_line(snap: Snapshot, now: datetime) -> str:
    """One line per change: "10:37:12 Main · routing.run Premium — OK: 345 requests left this hour (of 500); …"."""
    details = [problem_text(snap)] if snap.error else []
    details += [meter_phrase(meter, now) for meter in snap.meters]
    moment = (snap.fetched_at or now).astimezone().strftime("%H:%M:%S")
    line = f"{moment} {account_heading(snap)}"
    return line + (": " + "; ".join(d for d in details if d) if details else "")


def print_table(rows: list[tuple], out: TextIO) -> None:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip(), file=out)
