"""POST chat/completions for all three providers: admission, limits, SSE."""

from __future__ import annotations

import json

from aiohttp import web

from traywidget.simulator.errors import (
    bad_request,
    denial_reply,
    json_reply,
    routeway_window_headers,
)
from traywidget.simulator.records import DEFAULT_MODEL, ROUTEWAY
from traywidget.simulator.streaming import completion, drive_stream
from traywidget.simulator.wire import SIM, STOPPING, to_response

DEFAULT_MAX_TOKENS = 20


async def chat_completions(request: web.Request, provider: str, key: str) -> web.StreamResponse:
    """Count one request against key's limits, then answer (SSE when stream is true).
    Auth is the caller's job."""
    sim = request.app[SIM]
    try:
        body = await request.json()
        model = str(body.get("model") or DEFAULT_MODEL[provider])
        max_tokens = max(1, int(body.get("max_tokens") or DEFAULT_MAX_TOKENS))
        stream = bool(body.get("stream"))
    except (ValueError, TypeError, AttributeError, json.JSONDecodeError):
        return to_response(bad_request(provider, "Invalid request body"))
    if stream:
        handle, denial = sim.open_stream(key, model, max_tokens)
    else:
        handle, denial = None, sim.admit(key, model)
    if denial is not None:
        return to_response(denial_reply(provider, denial, sim.now(), legacy=sim.legacy_errors(key)))
    headers = {}
    if provider == ROUTEWAY and model.endswith(":free"):
        headers = routeway_window_headers(sim.routeway_windows(key), sim.now())
    if handle is None:
        return to_response(json_reply(completion(model, max_tokens), headers=headers))
    response = web.StreamResponse(headers={"Cache-Control": "no-cache", **headers})
    response.content_type = "text/event-stream"
    try:
        await response.prepare(request)
    except BaseException:
        sim.close_stream(handle, "cancelled")
        raise
    await drive_stream(sim, handle, response.write, request.app[STOPPING])
    await response.write_eof()
    return response
