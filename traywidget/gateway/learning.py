"""Reading a copy of one response as it passes, and handing what it says on.

The bytes the client gets are never touched here. The copy is read in the
form it was sent — compressed when the two ends agreed on gzip or deflate —
so it is decoded first (bounded: a copy never holds more than a refusal's
message needs, or one SSE event). The gateway asks providers for no other
coding; one that answers in br or zstd anyway is learned from by its status
and headers alone.

What is handed on: at a success's headers, its rate-limit windows; for a
refusal (4xx), the state in the provider's words once its body is in; inside
a 200 SSE stream, each event that refuses the account (a 429 mid-stream).
And at the end of every answered (2xx) or stopped exchange, what it used: the
usage the provider reported (providers/usage.py), handed to a usage sink.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial

from traywidget.gateway.sse import EventSplitter, split_events
from traywidget.model import HttpResult, RequestUsage, TrafficObservation
from traywidget.providers.base import Provider
from traywidget.providers.from_traffic import (
    MAX_ERROR_BODY_BYTES,
    MAX_EVENT_BYTES,
    is_event_stream,
    response_observation,
    stream_observation,
    wants_body,
)
from traywidget.providers.scrub import scrub_bytes
from traywidget.providers.usage import UsageTally, mentions_usage

log = logging.getLogger(__name__)

ObservationSink = Callable[[TrafficObservation], None]
UsageSink = Callable[[RequestUsage], None]

# A JSON answer is read for its usage up to this size (its `usage` is at the end; a bigger
# answer is counted without tokens rather than held in memory).
MAX_USAGE_BODY_BYTES = 4 * 1024 * 1024


# The codings the gateway can undo: the only ones it asks a provider for (proxy.py), so that every answer can
# be read (usage, spend), masked (a refusal echoing the key) and ended by a whole event at a stop.
READABLE_CODINGS = ("gzip", "x-gzip", "deflate")


class CopyDecoder:
    """Undoes a Content-Encoding on the copy, piece by piece, never more than `limit` bytes at once."""

    def __init__(self, encoding: str) -> None:
        self._wbits = 16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._inflate = zlib.decompressobj(self._wbits)
        self.failed = False

    @classmethod
    def for_encoding(cls, header: str | None) -> CopyDecoder | None:
        """A decoder for the header's coding; None for none at all. LookupError: one it cannot undo."""
        encoding = (header or "").strip().lower()
        if encoding in ("", "identity"):
            return None
        if encoding in READABLE_CODINGS:
            return cls(encoding)
        raise LookupError(encoding)

    def decode(self, chunk: bytes, limit: int) -> list[bytes]:
        """The decoded pieces of `chunk`, each at most `limit` bytes (a small body may inflate hugely)."""
        pieces: list[bytes] = []
        data = chunk
        try:
            while data and not self.failed:
                piece = self._inflate.decompress(data, limit)
                if piece:
                    pieces.append(piece)
                data = self._inflate.unconsumed_tail
                if self._inflate.eof and self._inflate.unused_data:  # gzip allows several members
                    data = self._inflate.unused_data
                    self._inflate = zlib.decompressobj(self._wbits)
        except zlib.error:
            self.failed = True  # not what its header says: nothing more is learned from it
        return pieces


class ResponseReader:
    """The copy of one response; `feed` it each chunk as it passes, `finish` it at the end."""

    def __init__(self, provider: Provider, account_id: str, status: int, headers: Mapping[str, str],
                 observe: ObservationSink, now: Callable[[], datetime], base_url: str = "",
                 known: tuple[str, ...] = (), on_usage: UsageSink | None = None) -> None:
        self._provider = provider
        self._base_url = base_url
        # The secrets this exchange carries (the account's key, the gateway token): never learned as words.
        self._known = known
        self._account_id = account_id
        self._status = status
        self._headers = headers
        self._observe = observe
        self._now = now
        self.event_stream = status == 200 and is_event_stream(headers.get("Content-Type"))
        try:
            self._decoder = CopyDecoder.for_encoding(headers.get("Content-Encoding"))
            self._readable = True
        except LookupError:
            self._decoder, self._readable = None, False
        # Plain SSE arrives here already cut at event boundaries (`feed_events`); a coded one is cut here.
        self._events = EventSplitter() if self.event_stream and self._decoder is not None else None
        self._body = bytearray() if wants_body(status) else None
        self._finished = False
        # What the answer used: read from a 2xx answer's body or events, handed on at the end.
        self._on_usage = on_usage if 200 <= status < 300 else None
        self._tally = UsageTally(headers)
        self._usage_body = bytearray() if self._on_usage is not None and not self.event_stream else None
        if 200 <= status < 300:
            self._learn_response(b"")

    @property
    def plain(self) -> bool:
        """Whether the bytes on the wire are the body itself (no Content-Encoding)."""
        return self._decoder is None and self._readable

    def feed_events(self, events: bytes) -> None:
        """Whole events of a plain SSE stream (cut by the forwarding splitter)."""
        if self._on_usage is not None and mentions_usage(events):
            for event in split_events(events):
                if mentions_usage(event):
                    self._read_usage(partial(self._tally.read_event, event))
        if b"error" not in events:
            return
        for event in split_events(events):
            if b"error" in event:
                scrubbed = scrub_bytes(event, self._known)

                def read(scrubbed: bytes = scrubbed) -> TrafficObservation | None:
                    return stream_observation(self._provider, self._account_id, scrubbed, self._headers, self._now(),
                                              self._base_url)

                self._hand_over(read)

    def feed(self, chunk: bytes) -> None:
        if not self._readable:
            return
        if self._usage_body is not None:
            room = MAX_USAGE_BODY_BYTES - len(self._usage_body)
            if room <= 0:
                self._usage_body = None  # too big to read: counted without its figures
            else:
                pieces = [chunk] if self._decoder is None else self._decoder.decode(chunk, room)
                for piece in pieces:
                    self._usage_body += piece
        elif self._body is not None:
            room = MAX_ERROR_BODY_BYTES - len(self._body)
            if room > 0:
                pieces = [chunk] if self._decoder is None else self._decoder.decode(chunk, room)
                for piece in pieces:
                    self._body += piece[: MAX_ERROR_BODY_BYTES - len(self._body)]
        elif self._events is not None and self._decoder is not None:
            for piece in self._decoder.decode(chunk, MAX_EVENT_BYTES):
                self.feed_events(self._events.feed(piece))

    def finish(self, stopped: bool = False) -> None:
        """At the end of the body (or of the exchange, however it ended): what a refusal said,
        what the answer used (`stopped`: it was stopped from traywidget, its figures partial)."""
        if self._finished:
            return
        self._finished = True
        if self._events is not None:
            self.feed_events(self._events.flush())
        if self._body is not None:
            self._learn_response(scrub_bytes(bytes(self._body), self._known))
        if self._on_usage is not None:
            if self._usage_body is not None and not stopped:
                self._read_usage(partial(self._tally.read_body, bytes(self._usage_body)))
            try:
                self._on_usage(self._tally.result(stopped))
            except Exception:  # a failing book must not break the user's traffic
                log.exception("The usage sink failed")

    def _read_usage(self, read: Callable[[], None]) -> None:
        try:
            read()
        except Exception:  # a parser bug must never break the user's traffic
            log.exception("Reading the usage of a response of %s failed", self._account_id)

    def _learn_response(self, body: bytes) -> None:
        result = HttpResult(self._status, self._headers, body)
        self._hand_over(lambda: response_observation(self._provider, self._account_id, result, self._now(),
                                                               self._base_url))

    def _hand_over(self, read: Callable[[], TrafficObservation | None]) -> None:
        try:
            observation = read()
        except Exception:  # a parser bug must never break the user's traffic
            log.exception("Reading a response of %s failed", self._account_id)
            return
        if observation is None:
            return
        try:
            self._observe(observation)
        except Exception:  # a failing engine must not break the user's traffic
            log.exception("The traffic observation sink failed")
