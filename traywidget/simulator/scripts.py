"""Stream scripts: how the next streams of a key behave.

A script is set per key (`Simulator.script_streams`, or POST /_sim/stream/script)
for its next `count` HTTP streams (None: until cleared). Each parameter left
at None keeps the normal behaviour:

  events          content events before the normal end (default: the request's max_tokens)
  event_bytes     size on the wire of every content event, padded with text
                  (a size below the event's bare frame gives the bare frame)
  interval_s      pause after each event; 0 is flat out (default: the simulator's
                  stream_interval_s)
  hang_after      after N events send nothing more and keep the connection open, until
                  the client leaves, a routing.run kill arrives or the server stops
  reset_after     after N events abort the TCP connection (no end of stream)
  error_after     after N events send a 429 as the provider's SSE error event, then end
  error           which limit that 429 names (per provider, see records.STREAM_ERRORS)
  drip_bytes      write the stream in pieces of this many bytes, `drip_interval_s`
                  apart (an event split across reads)
  drip_interval_s pause between drip pieces (default 0.05 s)
  gzip            compress the stream (Content-Encoding: gzip) when the client accepts gzip,
                  flushing after each write, as a CDN in front of a provider does

When several of hang_after/reset_after/error_after are set, the one with the
smallest N applies; on a tie reset wins over error, error over hang.
Internal streams (`SimulatorServer.start_stream`, the demo's kept stream) are
never scripted.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

_COUNTS = ("events", "event_bytes", "hang_after", "reset_after", "error_after", "drip_bytes")
_SECONDS = ("interval_s", "drip_interval_s")


@dataclass(frozen=True)
class StreamScript:
    events: int | None = None
    event_bytes: int | None = None
    interval_s: float | None = None
    hang_after: int | None = None
    reset_after: int | None = None
    error_after: int | None = None
    error: str | None = None
    drip_bytes: int | None = None
    drip_interval_s: float = 0.05
    gzip: bool = False

    @classmethod
    def make(cls, **params: Any) -> StreamScript:
        """A script from plain values (as a JSON body gives them), checked."""
        known = {f.name for f in fields(cls)}
        unknown = set(params) - known
        if unknown:
            raise ValueError(f"unknown stream script parameter(s) {sorted(unknown)}; known: {sorted(known)}")
        values = {name: value for name, value in params.items() if value is not None}
        for name in _COUNTS:
            if name in values and not _is_number(values[name], int):
                raise ValueError(f"{name} must be an integer >= 0")
        for name in _SECONDS:
            if name in values:
                if not _is_number(values[name], (int, float)):
                    raise ValueError(f"{name} must be a number of seconds >= 0")
                values[name] = float(values[name])
        if values.get("drip_bytes") == 0:
            raise ValueError("drip_bytes must be >= 1")
        if "gzip" in values and not isinstance(values["gzip"], bool):
            raise ValueError("gzip must be true or false")
        if "error" in values and not isinstance(values["error"], str):
            raise ValueError("error must be a string")
        return cls(**values)

    def action_at(self, index: int) -> str | None:
        """What happens before content event `index` (after `index` events): reset, error, hang or None."""
        for action, after in (("reset", self.reset_after), ("error", self.error_after), ("hang", self.hang_after)):
            if after is not None and after == index:
                return action
        return None


def _is_number(value: Any, kinds: type[int] | tuple[type[int], type[float]]) -> bool:
    """A non-negative number of the kinds (JSON's true/false are not numbers here)."""
    return isinstance(value, kinds) and not isinstance(value, bool) and value >= 0


DEFAULT_SCRIPT = StreamScript()
