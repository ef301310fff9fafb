"""Reaching a running gateway from another process: `traywidget status`, `kill`
and `gateway token --rotate` talk to the gateways of this user through their
/_traywidget/ endpoints (see control_api.py).

Nothing listening there is the normal case (no gateway runs) and costs one
refused connection on loopback; the keyring is read for the token only when
something answers like a gateway, and the token is sent only after the
listener proved it already holds it (control_api.proof): whatever else took the
port is sent nothing secret.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from traywidget.gateway import control_api
from traywidget.gateway.control_api import HOST_V4
from traywidget.model import TrafficObservation

log = logging.getLogger(__name__)

TIMEOUT_S = 3.0
# A reload waits for the gateway's keyring read (itself bounded by keys.KEYRING_WAIT_S).
RELOAD_TIMEOUT_S = 8.0


@dataclass(frozen=True)
class RemoteStatus:
    streams: dict[str, int] = field(default_factory=dict)
    observations: tuple[TrafficObservation, ...] = ()


class GatewayRefused(Exception):
    """A traywidget gateway runs on the port but refused this user's token."""


class GatewayNotProven(Exception):
    """Something answers on the port like a traywidget gateway but did not prove it holds this
    user's token (another program took the port, or a gateway still holds an older token):
    nothing secret was sent to it."""


class Reload(enum.Enum):
    """What became of one gateway at a token rotation."""

    NONE = "none"              # nothing runs on the port
    RELOADED = "reloaded"      # it read the new token and takes only that one now
    ALREADY = "already"        # it held the new token already
    NOT_PROVEN = "not_proven"  # it proved neither token: sent nothing, it must be restarted
    FAILED = "failed"          # it is ours but could not read the keyring (locked?): the old token holds there


async def _call(method: str, port: int, path: str, token: str | None = None, body: Any = None, *,
                query: dict[str, str] | None = None, timeout: float = TIMEOUT_S) -> Any:
    """The JSON a gateway endpoint answers; None when no gateway answers there.
    GatewayRefused on a 401."""
    if not await _listening(port):
        return None
    import aiohttp  # only when something listens there: most `status` runs meet no gateway

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            async with session.request(method, f"http://{HOST_V4}:{port}{control_api.PREFIX}/{path}",
                                       headers=headers, params=query, json=body) as reply:
                if reply.status == 401:
                    raise GatewayRefused()
                if reply.status != 200:
                    return None
                return json.loads(await reply.read())
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        log.debug("No gateway answers on port %d (%s)", port, type(exc).__name__)
        return None


async def _listening(port: int) -> bool:
    """Whether anything accepts a connection on the port (a refused connect costs microseconds)."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(HOST_V4, port), TIMEOUT_S)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


async def running_gateway(port: int) -> dict[str, Any] | None:
    """The health of the traywidget gateway on `port` (as it says: unproven), or None when none answers."""
    data = await _call("GET", port, "health")
    return data if isinstance(data, dict) and data.get("service") == control_api.SERVICE else None


async def proves_token(port: int, token: str | None) -> bool:
    """Whether the listener on `port` proves it holds `token`, without being sent it."""
    if not token:
        return False
    challenge = secrets.token_hex(32)
    data = await _call("GET", port, "health", query={"challenge": challenge})
    return isinstance(data, dict) and control_api.proof_matches(data.get("proof"), token, port, challenge)


async def _proven_token(port: int, read_token: Callable[[], str | None]) -> str | None:
    """This user's token once the gateway on `port` proved it holds it; None when no gateway
    answers there. GatewayNotProven when one answers but does not prove it."""
    if await running_gateway(port) is None:
        return None
    token = await asyncio.to_thread(read_token)
    if not await proves_token(port, token):
        raise GatewayNotProven()
    return token


async def status(port: int, read_token: Callable[[], str | None]) -> RemoteStatus | None:
    """Open streams and what traffic said, from the gateway on `port`; None when none runs.
    `read_token` (blocking: the keyring) is called only when a gateway answers."""
    token = await _proven_token(port, read_token)
    if token is None:
        return None
    data = await _call("GET", port, "status", token)
    if not isinstance(data, dict):
        return None
    streams = data.get("streams")
    observations = (control_api.observation_from_json(o) for o in data.get("observations") or ())
    return RemoteStatus(
        streams={k: v for k, v in streams.items() if type(v) is int and v >= 0} if isinstance(streams, dict) else {},
        observations=tuple(o for o in observations if o is not None),
    )


async def stop_streams(port: int, read_token: Callable[[], str | None],
                       order: control_api.KillOrder | None = None) -> dict[str, int] | None:
    """Stop every stream through the gateway on `port` (and hold, as `order` says); {account id:
    stopped}, or None when none runs."""
    token = await _proven_token(port, read_token)
    if token is None:
        return None
    data = await _call("POST", port, "kill", token, (order or control_api.KillOrder()).to_json())
    stopped = data.get("stopped") if isinstance(data, dict) else None
    if not isinstance(stopped, dict):
        return None
    return {k: v for k, v in stopped.items() if type(v) is int and v >= 0}


async def resume(port: int, read_token: Callable[[], str | None], accounts: list[str] | None) -> list[str] | None:
    """End holds in the gateway on `port`; the accounts that were held, or None when none runs."""
    token = await _proven_token(port, read_token)
    if token is None:
        return None
    data = await _call("POST", port, "resume", token, control_api.KillOrder(accounts).to_json())
    resumed = data.get("resumed") if isinstance(data, dict) else None
    return [a for a in resumed if isinstance(a, str)] if isinstance(resumed, list) else None


async def reload_token(port: int, old: str | None, new: str) -> Reload:
    """After a rotation (`new` is saved already): make the gateway on `port` read the token again.
    It is asked with the old token, and only once it proved it holds that one."""
    if await running_gateway(port) is None:
        return Reload.NONE
    if not await proves_token(port, old):
        return Reload.ALREADY if await proves_token(port, new) else Reload.NOT_PROVEN
    try:
        data = await _call("POST", port, "reload-token", old, timeout=RELOAD_TIMEOUT_S)
    except GatewayRefused:  # it took a newer token between the proof and now
        return Reload.ALREADY if await proves_token(port, new) else Reload.NOT_PROVEN
    if isinstance(data, dict) and await proves_token(port, new):
        return Reload.RELOADED
    return Reload.FAILED


async def port_holder(port: int, token: str) -> bool | None:
    """Who listens on `port`: None nobody, True one of this user's gateways (proved `token`),
    False anything else — a tool pointed there would hand it the token."""
    if not await _listening(port):
        return None
    return await proves_token(port, token)
