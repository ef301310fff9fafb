"""Server-sent events on the wire: where one event ends.

The gateway forwards an SSE stream up to the last complete event of what has
arrived, holding back only an unfinished event's start until its end comes.
No event reaches the client later than it could be used, and the stream the
client holds always ends on an event boundary — so a stream stopped from
traywidget can end with a clean error event of its own.
"""

from __future__ import annotations

# An unfinished event longer than this is passed on as it is: memory stays bounded.
MAX_PENDING_BYTES = 65_536


def last_boundary(data: bytes) -> int:
    """The index just past the last blank line ("\\n\\n", "\\r\\n\\r\\n" or "\\r\\r") in data, or -1."""
    end = data.rfind(b"\n\n")
    best = end + 2 if end >= 0 else -1
    if b"\r" in data:
        for separator in (b"\r\n\r\n", b"\r\r"):
            end = data.rfind(separator)
            if end >= 0:
                best = max(best, end + len(separator))
    return best


def split_events(data: bytes) -> list[bytes]:
    """The events in a run of complete events (line endings made plain "\\n")."""
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return [event for event in data.split(b"\n\n") if event.strip()]


class EventSplitter:
    """Cuts an SSE byte stream after its last complete event."""

    __slots__ = ("_pending", "aligned")

    def __init__(self) -> None:
        self._pending = b""
        # Whether everything handed out so far ends on an event boundary.
        self.aligned = True

    def feed(self, chunk: bytes) -> bytes:
        """What of `chunk` (after what was held back) can go to the client now."""
        data = self._pending + chunk if self._pending else chunk
        end = last_boundary(data)
        if end < 0:
            if len(data) > MAX_PENDING_BYTES:
                self._pending, self.aligned = b"", False
                return data
            self._pending = data
            return b""
        self.aligned = True
        if end == len(data):
            self._pending = b""
            return data
        self._pending = data[end:]
        return data[:end]

    def flush(self) -> bytes:
        """Whatever is held back, at the end of the stream."""
        data, self._pending = self._pending, b""
        if data:
            self.aligned = False
        return data
