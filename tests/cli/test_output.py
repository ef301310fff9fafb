"""How the CLI speaks to people (the tray menu's words: every figure with "left" or "used", the
reason for every non-fine state) and how it survives a reader that went away, on real pipes."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta

import pytest

from traywidget.cli.output import GuardedStream, account_lines, watch_line
from traywidget.model import ErrorInfo, Meter, Snapshot, State, Unit

NOW = datetime(2026, 3, 5, 10, 37, 12, tzinfo=UTC)



def test_status_lines_are_the_menu_line_and_the_submenu(utc_local_time):
    """A 429 says why (state and the provider's message), every figure says "left" or "used"."""
    snap = Snapshot(
        "main", "routing.run", "Main", State.RATE_LIMITED, plan="Premium", fetched_at=NOW,
        meters=(Meter("requests_hour", Unit.REQUESTS, limit=500, remaining=0, resets_at=NOW + timedelta(minutes=23)),
                Meter("requests_day", Unit.REQUESTS, limit=1500, remaining=1080,
                      resets_at=datetime(2026, 3, 6, tzinfo=UTC)),
                Meter("requests_minute", Unit.REQUESTS, limit=100, remaining=97,
                      resets_at=NOW + timedelta(seconds=40), approximate_reset=True)),
        error=ErrorInfo("Hourly request limit exceeded", 429, retry_after_s=40),
        notes=("A note from the provider.",),
    )
    assert account_lines(snap, NOW) == [
        "Main — 0 requests left this hour · Rate limited (429) until 10:37:52: Hourly request limit exceeded",
        "  routing.run · Premium",
        "  Requests this hour: 0 of 500 left · resets 11:00",
        "  Requests today: 1,080 of 1,500 left · resets 00:00",
        "  Requests this minute: 97 of 100 left · resets in about 40 s",
        "  Last error: Hourly request limit exceeded (429)",
        "  A note from the provider.",
        "  fetched just now",
    ]
    assert watch_line(snap, NOW) == "10:37:12 Main — 0 requests left this hour · Rate limited (429) until 10:37:52: " \
                               "Hourly request limit exceeded"


def test_an_account_without_figures_says_so_and_why(utc_local_time):
    note = "Routeway has no usage endpoint for API keys: add a management key to see requests left and balance."
    snap = Snapshot("rw", "routeway", "Team", State.OK, fetched_at=NOW, notes=(note,))
    assert account_lines(snap, NOW) == ["Team — no usage figures · OK", "  Routeway", "  " + note,
                                        "  fetched just now"]
    assert watch_line(Snapshot("rw", "routeway", "Team", State.NO_KEY), NOW) == "Team — not fetched yet · No API key"


# --- a reader that goes away --------------------------------------------------------------------


def test_guarded_stream_on_a_pipe_whose_reader_left():
    read_end, write_end = os.pipe()
    os.close(read_end)
    stream = os.fdopen(write_end, "w", buffering=1)
    guarded = GuardedStream(stream)
    calls = []
    guarded.on_gone(lambda: calls.append("gone"))
    assert guarded.fifo_fd() == write_end
    assert guarded.write("first line\n") == len("first line\n")  # the write that finds the pipe closed
    assert guarded.gone and calls == ["gone"]
    guarded.write("dropped\n")
    guarded.flush()
    assert calls == ["gone"]  # told once
    stream.close()  # the descriptor now points at the null device: closing (and flushing) raises nothing


def test_guarded_stream_passes_writes_through_and_other_errors_on():
    buffer = io.StringIO()
    guarded = GuardedStream(buffer)
    print("hello", file=guarded)
    assert buffer.getvalue() == "hello\n" and not guarded.gone and guarded.fifo_fd() is None

    class Full(io.StringIO):
        def write(self, text):
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        GuardedStream(Full()).write("x")


def test_reader_left_marks_the_stream_gone_once():
    guarded = GuardedStream(io.StringIO())
    calls = []
    guarded.on_gone(lambda: calls.append(1))
    guarded.reader_left()
    guarded.reader_left()
    assert guarded.gone and calls == [1]


@pytest.mark.parametrize("raw,shown", [
    ("Main \x1b]0;owned\x07 \x1b[2J", "Main \\u001b]0;owned\\u0007 \\u001b[2J"),
    ("evil\u202efdp.exe", "evil\\u202efdp.exe"),
    ("\u2066a\u2067b\u2068c\u2069 \u200fx\u200e \u061c", "\\u2066a\\u2067b\\u2068c\\u2069 \\u200fx\\u200e \\u061c"),
    ("ok\rFAKE", "ok\\u000dFAKE"), ("nul\x00 del\x7f c1\x9b", "nul\\u0000 del\\u007f c1\\u009b"),
    ("zero\u200bwidth line\u2028sep", "zero\\u200bwidth line\\u2028sep"),
    ("lines\nand\ttabs", "lines\nand\ttabs"),
    ("Arbeit · 中文 · 👨\u200d👩\u200d👧", "Arbeit · 中文 · 👨\u200d👩\u200d👧"),
])
def test_what_reaches_the_terminal_cannot_drive_it(raw, shown):
    buffer = io.StringIO()
    GuardedStream(buffer).write(raw)
    assert buffer.getvalue() == shown


def test_json_written_through_the_guard_stays_valid_and_means_the_same():
    import json

    data = {"label": "a\u202eb\u2066c", "error": "x\x1by"}
    buffer = io.StringIO()
    json.dump(data, GuardedStream(buffer), ensure_ascii=False)
    assert "\u202e" not in buffer.getvalue() and json.loads(buffer.getvalue()) == data


def test_log_lines_are_neutralised_too():
    """A provider's text in a warning (or with --debug) reaches the same terminal."""
    import logging

    from traywidget.cli import _TerminalSafeFormatter

    record = logging.LogRecord("traywidget.x", logging.WARNING, __file__, 1, "provider said %s", ("a\x1b[2Jb\u202ec",),
                               None)
    assert _TerminalSafeFormatter("%(levelname)s %(message)s").format(record) == \
        "WARNING provider said a\\u001b[2Jb\\u202ec"
