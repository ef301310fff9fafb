"""How the CLI speaks to people (every figure with "left" or "used", the reason for every
non-fine state) and how it survives a reader that went away, on real pipes."""

from __future__ import annotations

import io
import os
import time
from datetime import datetime, timedelta, timezone

import pytest

from traywidget.cli.output import (
    GuardedStream,
    account_heading,
    account_lines,
    meter_amount,
    meter_phrase,
    problem_text,
    watch_line,
)
from traywidget.model import ErrorInfo, Meter, Snapshot, State, Unit

NOW = datetime(2026, 3, 5, 10, 37, 12, tzinfo=timezone.utc)


@pytest.fixture
def utc_local_time(monkeypatch):
    """Clock times are local times: pin the local zone."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(("meter", "text"), [
    (Meter("requests_hour", Unit.REQUESTS, used=80, limit=500, remaining=420), "420 requests left this hour (of 500)"),
    (Meter("requests_hour", Unit.REQUESTS, used=499, limit=500, remaining=1), "1 request left this hour (of 500)"),
    (Meter("requests_minute", Unit.REQUESTS, limit=100, remaining=97), "97 requests left this minute (of 100)"),
    (Meter("requests_day", Unit.REQUESTS, limit=1500, remaining=1080), "1,080 requests left today (of 1,500)"),
    (Meter("free_requests_day", Unit.REQUESTS, limit=1000, remaining=1000),
     "1,000 free-model requests left today (of 1,000)"),
    (Meter("free_requests_day", Unit.REQUESTS, limit=1000, estimated=True),
     "Free-model requests today: usage unknown (limit ≈1,000)"),
    (Meter("requests_hour", Unit.REQUESTS, used=120), "120 requests used this hour, no cap"),  # routing.run Lite
    (Meter("credits", Unit.USD, used=1.5, limit=10.0, remaining=8.5), "$8.50 left on the key (of $10.00)"),
    (Meter("credits", Unit.USD, used=3.0), "no spending cap on the key"),
    (Meter("balance", Unit.USD, remaining=4.2), "$4.20 account balance"),
    (Meter("balance", Unit.USD, remaining=-1.25), "-$1.25 account balance"),
    (Meter("tokens", Unit.TOKENS, limit=40_000, remaining=39_000), "39,000 tokens left in the current window (of 40,000)"),
    (Meter("requests_day", Unit.REQUESTS, limit=200), "Requests today: usage unknown (limit 200)"),
    (Meter("mystery", Unit.REQUESTS, remaining=3), "mystery: 3 left"),
])
def test_every_meter_says_left_or_used(meter, text):
    assert meter_amount(meter) == text


def test_meter_phrase_adds_the_estimate_and_the_reset(utc_local_time):
    hour = Meter("requests_hour", Unit.REQUESTS, limit=500, remaining=420, resets_at=NOW + timedelta(minutes=23))
    assert meter_phrase(hour, NOW) == "420 requests left this hour (of 500) · resets in 23 min"
    assert meter_phrase(hour, NOW, clock_times=True) == "420 requests left this hour (of 500) · resets at 11:00"
    minute = Meter("requests_minute", Unit.REQUESTS, limit=100, remaining=97,
                   resets_at=NOW + timedelta(seconds=40), approximate_reset=True)
    assert meter_phrase(minute, NOW) == "97 requests left this minute (of 100) · resets in about 40 s"
    assert meter_phrase(minute, NOW, clock_times=True) == "97 requests left this minute (of 100)"
    day = Meter("requests_day", Unit.REQUESTS, limit=200, remaining=7, resets_at=datetime(2026, 3, 6, tzinfo=timezone.utc))
    assert meter_phrase(day, NOW, clock_times=True) == "7 requests left today (of 200) · resets tomorrow at 00:00"
    month = Meter("credits", Unit.USD, limit=10.0, remaining=8.5, resets_at=datetime(2026, 4, 1, tzinfo=timezone.utc))
    assert meter_phrase(month, NOW, clock_times=True) == "$8.50 left on the key (of $10.00) · resets on 2026-04-01 at 00:00"
    free = Meter("free_requests_day", Unit.REQUESTS, limit=50, estimated=True)
    assert meter_phrase(free, NOW) == "Free-model requests today: usage unknown (limit ≈50) · documented estimate"


def snapshot(state: State = State.OK, **changes) -> Snapshot:
    return Snapshot(account_id="main", provider="routing.run", label="Main", state=state, **changes)


def test_headings_name_provider_and_plan_once_and_say_the_state():
    assert account_heading(snapshot(plan="Premium", meters=(Meter("requests_hour", Unit.REQUESTS),))) == \
        "Main · routing.run Premium — OK"
    labelled = Snapshot("w", "routing.run", "routing.run · Premium", State.LOW, plan="Premium",
                        meters=(Meter("requests_hour", Unit.REQUESTS),))
    assert account_heading(labelled) == "routing.run · Premium — Running low"
    # No figures although the key works (Routeway without a management key): not "OK".
    assert account_heading(Snapshot("rw", "routeway", "Rw", State.OK)) == "Rw · Routeway — usage unknown"
    assert account_heading(snapshot(State.AUTH_ERROR, stale=True, streams=2)) == \
        "Main · routing.run — Key rejected · stale · 2 streams running"
    assert account_heading(snapshot(State.RATE_LIMITED, streams=1)) == \
        "Main · routing.run — Rate limited (429) · 1 stream running"


def test_the_problem_is_the_providers_message_with_status_and_retry():
    limited = snapshot(State.RATE_LIMITED, error=ErrorInfo("Hourly request limit exceeded", 429, retry_after_s=95))
    assert problem_text(limited) == "Hourly request limit exceeded (HTTP 429) · retry in 2 min"
    assert problem_text(snapshot(State.OFFLINE, error=ErrorInfo("Cannot reach api.routing.run"))) == \
        "Cannot reach api.routing.run"
    assert problem_text(snapshot(State.ERROR, error=ErrorInfo("", 502))) == "Error (HTTP 502)"
    assert problem_text(snapshot()) is None


def test_account_lines_and_watch_line(utc_local_time):
    snap = snapshot(
        State.RATE_LIMITED, plan="Premium", fetched_at=NOW,
        meters=(Meter("requests_hour", Unit.REQUESTS, limit=500, remaining=0, resets_at=NOW + timedelta(minutes=23)),),
        error=ErrorInfo("Hourly request limit exceeded", 429, retry_after_s=40),
        notes=("A note from the provider.",),
    )
    assert account_lines(snap, NOW) == [
        "Main · routing.run Premium — Rate limited (429)",
        "  Hourly request limit exceeded (HTTP 429) · retry in 40 s",
        "  0 requests left this hour (of 500) · resets in 23 min",
        "  A note from the provider.",
    ]
    assert watch_line(snap, NOW) == ("10:37:12 Main · routing.run Premium — Rate limited (429): Hourly request "
                                     "limit exceeded (HTTP 429) · retry in 40 s; 0 requests left this hour (of 500) "
                                     "· resets in 23 min")


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
