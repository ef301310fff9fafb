"""/_traywidget/: the gateway's own small control API, for `traywidget status`,
`traywidget kill` and `traywidget gateway token --rotate` in another process.

- GET  /_traywidget/health  who listens here (no token: lets a second gateway say what holds the port)
- GET  /_traywidget/status  open streams per account and what traffic said last (token)
- POST /_traywidget/kill    stop every open stream; streams stopped per account (token). Body (optional):
                            {"accounts": [ids] | null, "hold": false | true, "minutes": N | null}: with
                            "hold", the accounts' new requests are refused from before the streams stop,
                            for N minutes (null: until resumed)
- POST /_traywidget/resume  end holds: {"accounts": [ids] | null} -> {"resumed": [ids]} (token)

Account ids never start with "_", so this prefix never shadows an account.
The guard (loopback Host, no Origin) applies here as everywhere.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from traywidget import __version__
from traywidget.model import ErrorInfo, Meter, State, TrafficObservation, iso, parse_iso

PREFIX = "/_traywidget"
SERVICE = "traywidget-gateway"
HOST_V4 = "127.0.0.1"
HOST_V6 = "::1"
# A gateway shown a token it does not know reads the keyring again, at most this often.
TOKEN_REREAD_S = 1.0


def health_payload() -> dict[str, Any]:
    return {"service": SERVICE, "version": __version__, "pid": os.getpid()}


def observation_to_json(observation: TrafficObservation) -> dict[str, Any]:
    return {
        "account_id": observation.account_id,
        "seen_at": iso(observation.seen_at),
        "meters": [meter.to_json() for meter in observation.meters],
        "state": None if observation.state is None else observation.state.value,
        "error": None if observation.error is None else observation.error.to_json(),
    }


def observation_from_json(data: Any) -> TrafficObservation | None:
    """The observation in `data`, or None when it is not one (another version, a bug)."""
    if not isinstance(data, dict):
        return None
    seen_at = parse_iso(data.get("seen_at"))
    account_id = data.get("account_id")
    if seen_at is None or not isinstance(account_id, str):
        return None
    try:
        meters = tuple(Meter.from_json(meter) for meter in data.get("meters") or ())
        state = State(data["state"]) if data.get("state") is not None else None
    except (KeyError, TypeError, ValueError):
        return None
    error = data.get("error")
    return TrafficObservation(
        account_id=account_id,
        seen_at=seen_at,
        meters=meters,
        state=state,
        error=ErrorInfo.from_json(error) if isinstance(error, dict) else None,
    )


@dataclass(frozen=True)
class KillOrder:
    """What a kill (or resume) asks: which accounts (None: all), whether to hold, for how long."""

    accounts: list[str] | None = None
    hold: bool = False
    minutes: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"accounts": self.accounts, "hold": self.hold, "minutes": self.minutes}

    @classmethod
    def from_json(cls, data: Any) -> KillOrder:
        """ValueError when `data` is not one."""
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        accounts = data.get("accounts")
        if accounts is not None and not (isinstance(accounts, list) and all(isinstance(a, str) for a in accounts)):
            raise ValueError("accounts must be a list of account ids or null")
        minutes = data.get("minutes")
        if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, (int, float))
                                    or not math.isfinite(minutes) or minutes <= 0):
            raise ValueError("minutes must be a number above 0 or null")
        return cls(accounts, bool(data.get("hold", False)), None if minutes is None else float(minutes))
