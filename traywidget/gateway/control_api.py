"""/_traywidget/: the gateway's own small control API, for `traywidget status`,
`traywidget kill` and `traywidget gateway token --rotate` in another process.

- GET  /_traywidget/health  who listens here (no token: lets a second gateway say what holds the port);
                            with ?challenge=HEX also a proof that it holds the user's token (below)
- GET  /_traywidget/status  open streams per account and what traffic said last (token)
- POST /_traywidget/kill    stop every open stream; streams stopped per account (token). Body (optional):
                            {"accounts": [ids] | null, "hold": false | true, "minutes": N | null}: with
                            "hold", the accounts' new requests are refused from before the streams stop,
                            for N minutes (null: until resumed)
- POST /_traywidget/resume  end holds: {"accounts": [ids] | null} -> {"resumed": [ids]} (token)
- POST /_traywidget/reload-token  read the token from the keyring again, after a rotation (token)

Before the command line sends the token anywhere, the listener must prove it is one of this
user's gateways: it answers a fresh random challenge with HMAC-SHA256 under the token of
"traywidget-gateway|PORT|CHALLENGE". Anything else that answers on the port (a program that took
it first, and fakes the health answer) cannot, and is sent nothing secret; nor can it pass on the
challenge to a real gateway on another port (the port is in the proof). A challenge rather than
the peer's uid (SO_PEERCRED): that works only on Unix sockets (a TCP port's owner must be dug out
of /proc/net/tcp, and only on Linux), while the proof works the same on every system, and shows
the very thing the command line is about to rely on: that the listener already holds the token.

Account ids never start with "_", so this prefix never shadows an account.
The guard (loopback Host, no Origin) applies here as everywhere.
"""

from __future__ import annotations

import hmac
import math
import os
import re
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from traywidget import __version__
from traywidget.model import ErrorInfo, Meter, State, TrafficObservation, iso, parse_iso

PREFIX = "/_traywidget"
SERVICE = "traywidget-gateway"
HOST_V4 = "127.0.0.1"
HOST_V6 = "::1"
_CHALLENGE = re.compile(r"[0-9a-f]{32,128}")


def health_payload() -> dict[str, Any]:
    return {"service": SERVICE, "version": __version__, "pid": os.getpid()}


def valid_challenge(challenge: str) -> bool:
    return _CHALLENGE.fullmatch(challenge) is not None


def proof(token: str, port: int, challenge: str) -> str:
    """What a gateway holding `token` on `port` answers to `challenge` (module docstring)."""
    message = f"{SERVICE}|{port}|{challenge}".encode()
    return hmac.new(token.encode("utf-8"), message, sha256).hexdigest()


def proof_matches(answered: object, token: str, port: int, challenge: str) -> bool:
    return isinstance(answered, str) and hmac.compare_digest(answered.encode(), proof(token, port, challenge).encode())


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
