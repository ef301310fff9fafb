"""What the provider routes share: app keys, key extraction, request logging,
writing a Reply, and applying an injected fault to a usage endpoint."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Callable

from aiohttp import web

from traywidget.simulator.errors import Reply, fault_reply
from traywidget.simulator.faults import (
    ERROR_FAULTS,
    PAYLOAD_FAULTS,
    Fault,
    dump_json,
    mutate_payload,
)
from traywidget.simulator.records import ROUTING
from traywidget.simulator.state import Simulator

SIM = web.AppKey("sim", Simulator)
STOPPING = web.AppKey("stopping", asyncio.Event)

# URL prefix of each provider's base (the base URL is http://host:port + prefix).
PREFIXES = {"routing.run": "/routing.run/v1", "openrouter": "/openrouter/api/v1", "routeway": "/routeway/v1"}


def request_key(request: web.Request, provider: str) -> str | None:
    """The key the client sent; routing.run also accepts X-API-Key."""
    if provider == ROUTING and request.headers.get("X-API-Key"):
        return request.headers["X-API-Key"].strip()
    auth = request.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


@web.middleware
async def record_requests(request: web.Request, handler):
    """Log every provider request (never /_sim) before it is handled."""
    for provider, prefix in PREFIXES.items():
        if request.path.startswith(prefix + "/"):
            request.app[SIM].record(provider, request.path[len(prefix) + 1:], request.method,
                                    request_key(request, provider), request.headers)
            break
    return await handler(request)


def to_response(reply: Reply) -> web.Response:
    return web.Response(status=reply.status, body=reply.body, content_type=reply.content_type,
                        headers=reply.headers)


async def usage_reply(request: web.Request, provider: str, key: str | None,
                      build: Callable[[], Reply]) -> web.StreamResponse:
    """Answer a usage/kill endpoint, through the fault injected for `key` if any.

    `build` makes the normal reply (including auth errors); it is not called
    when an error fault replaces the answer, so a faulted kill kills nothing.
    """
    sim = request.app[SIM]
    fault = sim.take_fault(key) if key else None
    if fault is None:
        return to_response(build())
    kind = fault.kind
    if kind == "latency":
        await asyncio.sleep(float(fault.params.get("ms", 1000)) / 1000)
    elif kind == "hang":
        await _hang(request, float(fault.params.get("seconds", 3600)))
        return to_response(Reply(504, b"", "text/plain"))
    elif kind in ERROR_FAULTS:
        return to_response(fault_reply(provider, fault, sim.now(), legacy=sim.legacy_errors(key)))
    reply = build()
    if kind in PAYLOAD_FAULTS and reply.content_type == "application/json":
        reply = replace(reply, body=dump_json(mutate_payload(fault, json.loads(reply.body))))
    elif kind == "truncated_json":
        reply = replace(reply, body=reply.body[: max(1, len(reply.body) // 2)])
    elif kind == "reset":
        return await _write_then_reset(request, reply)
    elif kind == "slow_drip":
        return await _drip(request, reply, fault)
    return to_response(reply)


async def _hang(request: web.Request, seconds: float) -> None:
    """Answer nothing until the client gives up (the handler is then cancelled)
    or the server stops."""
    try:
        await asyncio.wait_for(request.app[STOPPING].wait(), seconds)
    except asyncio.TimeoutError:
        pass


async def _start(request: web.Request, reply: Reply) -> web.StreamResponse:
    response = web.StreamResponse(status=reply.status, headers=reply.headers)
    response.content_type = reply.content_type
    response.content_length = len(reply.body)
    await response.prepare(request)
    return response


async def _write_then_reset(request: web.Request, reply: Reply) -> web.StreamResponse:
    """Promise the full body, send half, then drop the connection."""
    response = await _start(request, reply)
    await response.write(reply.body[: len(reply.body) // 2])
    await asyncio.sleep(0.05)
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError  # nothing more to send; aiohttp drops the task quietly


async def _drip(request: web.Request, reply: Reply, fault: Fault) -> web.StreamResponse:
    """Trickle the body a few bytes at a time over `seconds`."""
    chunk = max(1, int(fault.params.get("chunk", 4)))
    pieces = [reply.body[i:i + chunk] for i in range(0, len(reply.body), chunk)]
    delay = float(fault.params.get("seconds", 3)) / max(1, len(pieces))
    response = await _start(request, reply)
    for piece in pieces:
        await response.write(piece)
        await asyncio.sleep(delay)
    await response.write_eof()
    return response
