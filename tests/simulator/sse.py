"""A strict little SSE reader for the stream tests: blocks end with a blank line."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Event:
    name: str | None = None
    data: str | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def json(self) -> Any:
        assert self.data is not None
        return json.loads(self.data)


def parse(body: bytes) -> list[Event]:
    """Every block of the body; a body that does not end with a blank line fails."""
    text = body.decode()
    assert text.endswith("\n\n"), f"stream does not end with a complete event: {text[-80:]!r}"
    events = []
    for block in text[:-2].split("\n\n"):
        event = Event()
        for line in block.split("\n"):
            if line.startswith(":"):
                event.comments.append(line[1:].strip())
            elif line.startswith("event: "):
                event.name = line[len("event: "):]
            elif line.startswith("data: "):
                data = line[len("data: "):]
                event.data = data if event.data is None else event.data + "\n" + data
            else:
                raise AssertionError(f"not an SSE line: {line!r}")
        events.append(event)
    return events


def data_events(events: list[Event]) -> list[Event]:
    return [event for event in events if event.data is not None]
