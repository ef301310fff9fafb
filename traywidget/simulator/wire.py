"""What the provider routes share: app keys, prefixes, key extraction, request
logging, writing a Reply (gzip when the client asks), and applying an
injected fault to an endpoint."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace

from aiohttp import web
from aiohttp.web import ContentCoding

from traywidget.simulator.error_replies import Reply, fault_reply
from traywidget.simulator.faults import (
    ERROR_FAULTS,
    PAYLOAD_FAULTS,
    Fault,
    dump_json,
    mutate_payload,
)
from traywidget.simulator.records import OPENAI_COMPATIBLE, ROUTING
from traywidget.simulator.world import Simulator

SIM = web.AppKey("sim", Simulator)
STOPPING = web.AppKey("stopping", asyncio.Event)

# URL prefix of each provider's base (the base URL is http://host:port + prefix).
PREFIXES = {"routing.run": "/routing.run/v1", "openrouter": "/openrouter/api/v1", "routeway": "/routeway/v1",
            OPENAI_COMPATIBLE: "/openai-compatible/v1",
            # routes_balances.py: LiteLLM's key/info and DeepSeek's balance sit at the prefix's root.
            "litellm": "/litellm/v1", "deepseek": "/deepseek/v1", "moonshot": "/moonshot/v1",
            "dialects": "/dialects/v1"}

# The faults that can answer a streaming request before it starts; the others
# rewrite a whole body and wait for a non-streaming request.
STREAM_FAULTS = frozenset({"latency", "hang"}) | ERROR_FAULTS


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def request_key(request: web.Request, provider: str, *, x_api_key: bool = False) -> str | None:
    """The key the client sent in a form the endpoint accepts: Bearer everywhere;
    X-API-Key too on routing.run (preferred there) and where `x_api_key` (the
    Anthropic form on /messages)."""
    if provider == ROUTING or x_api_key:
        sent = request.headers.get("X-API-Key", "").strip()
        if sent:
            return sent
    return _bearer(request)


def logged_key(request: web.Request) -> str | None:
    """Whichever key the request carries, to attribute it in the request log."""
    return request.headers.get("X-API-Key", "").strip() or _bearer(request)


@web.middleware
async def record_requests(request: web.Request, handler):
    """Log every provider request (never /_sim) before it is handled."""
    for provider, prefix in PREFIXES.items():
        if request.path.startswith(prefix + "/"):
            request.app[SIM].record(provider, request.path[len(prefix) + 1:], request.method,
                                    logged_key(request), request.headers)
            break
    return await handler(request)


def wants_gzip(request: web.Request) -> bool:
    """Whether Accept-Encoding names gzip with a quality above zero."""
    for item in request.headers.get("Accept-Encoding", "").split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        if coding.lower() != "gzip":
            continue
        quality = next((param[2:] for param in params if param.lower().startswith("q=")), "1")
        try:
            return float(quality) > 0
        except ValueError:
            return False
    return False


def to_response(reply: Reply, request: web.Request | None = None) -> web.Response:
    """The reply as a response; gzip-compressed when `request` is given and asks for gzip."""
    response = web.Response(status=reply.status, body=reply.body, content_type=reply.content_type,
                            headers=reply.headers)
    if request is not None and wants_gzip(request):
        response.enable_compression(ContentCoding.gzip)
    return response


async def reply_with_faults(request: web.Request, provider: str, key: str | None, build: Callable[[], Reply],
                            *, compress: bool = False, anthropic: bool = False) -> web.StreamResponse:
    """Answer an endpoint, through the fault injected for `key` if any.

    `build` makes the normal reply (including auth errors and admission); it is
    not called when an error fault replaces the answer, so a faulted kill kills
    nothing and a faulted completion spends nothing.
    """
    sim = request.app[SIM]
    fault = sim.take_fault(key) if key else None
    if fault is None:
        return to_response(build(), request if compress else None)
    early = await _answer_early(request, provider, key, fault, anthropic)
    if early is not None:
        return early
    reply = build()
    kind = fault.kind
    if kind in PAYLOAD_FAULTS and reply.content_type == "application/json":
        reply = replace(reply, body=dump_json(mutate_payload(fault, json.loads(reply.body))))
    elif kind == "truncated_json":
        reply = replace(reply, body=reply.body[: max(1, len(reply.body) // 2)])
    elif kind == "reset":
        return await _write_then_reset(request, reply)
    elif kind == "slow_drip":
        return await _drip(request, reply, fault)
    return to_response(reply, request if compress else None)


async def stream_with_faults(request: web.Request, provider: str, key: str,
                             start: Callable[[], Awaitable[web.StreamResponse]],
                             *, anthropic: bool = False) -> web.StreamResponse:
    """Start a stream, unless a fault that applies to streams answers first."""
    fault = request.app[SIM].take_fault(key, STREAM_FAULTS)
    if fault is not None:
        early = await _answer_early(request, provider, key, fault, anthropic)
        if early is not None:
            return early
    return await start()


async def _answer_early(request: web.Request, provider: str, key: str | None, fault: Fault,
                        anthropic: bool) -> web.StreamResponse | None:
    """Latency waits and lets the normal answer follow (None); a hang or an
    error fault is the whole answer."""
    sim = request.app[SIM]
    if fault.kind == "latency":
        await asyncio.sleep(float(fault.params.get("ms", 1000)) / 1000)
        return None
    if fault.kind == "hang":
        await _hang(request, float(fault.params.get("seconds", 3600)))
        return to_response(Reply(504, b"", "text/plain"))
    if fault.kind in ERROR_FAULTS:
        return to_response(fault_reply(provider, fault, sim.now(), legacy=sim.legacy_errors(key),
                                       anthropic=anthropic, key=key))
    return None


async def _hang(request: web.Request, seconds: float) -> None:
    """Answer nothing until the client gives up (the handler is then cancelled)
    or the server stops."""
    try:
        await asyncio.wait_for(request.app[STOPPING].wait(), seconds)
    except TimeoutError:
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
