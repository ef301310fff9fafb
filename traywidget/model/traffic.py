"""What the local gateway learns from one response to the user's own traffic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from traywidget.model.snapshot import ErrorInfo, Meter
from traywidget.model.state import State


@dataclass(frozen=True)
class TrafficObservation:
    """Facts read from a copy of one response passing through the gateway.

    Never a body or a key: only meters from rate-limit headers (source
    TRAFFIC, seen at `seen_at`) and, for a refusal (a 429 or 402 status, or an
    error event inside a 200 SSE stream), the state it means with the
    provider's own message. `state` None means a good answer.
    """

    account_id: str
    seen_at: datetime
    meters: tuple[Meter, ...] = ()
    state: State | None = None
    error: ErrorInfo | None = None
