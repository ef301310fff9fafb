"""Reaching a running gateway from another process: `traywidget status`, `kill`
and `gateway token --rotate` talk to the one on the configured port, through
its /_traywidget/ endpoints (see control.py).

Nothing listening there is the normal case (no gateway runs) and costs one
refused connection on loopback; the keyring is read for the token only when a
traywidget gateway answers.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from traywidget.gateway import control
from traywidget.gateway.control import HOST_V4, TOKEN_REREAD_S
from traywidget.model import TrafficObservation

log = logging.getLogger(__name__)

TIMEOUT_S = 3.0


@dataclass(frozen=True)
class RemoteStatus:
    streams: dict[str, int] = field(default_factory=dict)
    observations: tuple[TrafficObservation, ...] = ()


class GatewayRefused(Exception):
    """A traywidget gateway runs on the port but refused this user's token."""


async def _call(method: str, port: int, path: str, token: str | None = None, body: Any = None) -> Any:
    """The JSON a gateway endpoint answers; None when no gateway answers there.
    GatewayRefused on a 401."""
    if not await _listening(port):
        return None
    import aiohttp  # only when something listens there: most `status` runs meet no gateway

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as session:
            async with session.request(method, f"http://{HOST_V4}:{port}{control.PREFIX}/{path}",
                                       headers=headers, json=body) as reply:
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
    """The health of the traywidget gateway on `port`, or None when none runs there."""
    data = await _call("GET", port, "health")
    return data if isinstance(data, dict) and data.get("service") == control.SERVICE else None


async def status(port: int, read_token: Callable[[], str | None]) -> RemoteStatus | None:
    """Open streams and what traffic said, from the gateway on `port`; None when none runs.
    `read_token` (blocking: the keyring) is called only when a gateway answers."""
    if await running_gateway(port) is None:
        return None
    token = await asyncio.to_thread(read_token)
    data = await _call("GET", port, "status", token)
    if not isinstance(data, dict):
        return None
    streams = data.get("streams")
    observations = (control.observation_from_json(o) for o in data.get("observations") or ())
    return RemoteStatus(
        streams={k: v for k, v in streams.items() if type(v) is int and v >= 0} if isinstance(streams, dict) else {},
        observations=tuple(o for o in observations if o is not None),
    )


async def stop_streams(port: int, read_token: Callable[[], str | None],
                       order: control.KillOrder | None = None) -> dict[str, int] | None:
    """Stop every stream through the gateway on `port` (and hold, as `order` says); {account id:
    stopped}, or None when none runs."""
    if await running_gateway(port) is None:
        return None
    token = await asyncio.to_thread(read_token)
    data = await _call("POST", port, "kill", token, (order or control.KillOrder()).to_json())
    stopped = data.get("stopped") if isinstance(data, dict) else None
    if not isinstance(stopped, dict):
        return None
    return {k: v for k, v in stopped.items() if type(v) is int and v >= 0}


async def resume(port: int, read_token: Callable[[], str | None], accounts: list[str] | None) -> list[str] | None:
    """End holds in the gateway on `port`; the accounts that were held, or None when none runs."""
    if await running_gateway(port) is None:
        return None
    token = await asyncio.to_thread(read_token)
    data = await _call("POST", port, "resume", token, control.KillOrder(accounts).to_json())
    resumed = data.get("resumed") if isinstance(data, dict) else None
    return [a for a in resumed if isinstance(a, str)] if isinstance(resumed, list) else None


async def announce_token(port: int, token: str) -> bool:
    """Make the gateway on `port` take up a rotated token now (it reads the keyring
    again when shown a token it does not know). False when none runs or it did not."""
    if await running_gateway(port) is None:
        return False
    for attempt in range(2):
        try:
            return await _call("GET", port, "status", token) is not None
        except GatewayRefused:
            if attempt == 0:  # it read the keyring a moment ago; it reads again after a pause
                await asyncio.sleep(TOKEN_REREAD_S + 0.1)
    return False
