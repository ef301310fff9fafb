"""OpenRouter under /openrouter/api/v1: key, credits, chat completions."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from traywidget.simulator.chat import generate
from traywidget.simulator.error_replies import Reply, json_reply, openrouter_error
from traywidget.simulator.records import OPENROUTER
from traywidget.simulator.wire import (
    PREFIXES,
    SIM,
    reply_with_faults,
    request_key,
    to_response,
)
from traywidget.simulator.world import Simulator

BASE = PREFIXES[OPENROUTER]
NO_KEY = openrouter_error(401, "No auth credentials found")
INVALID_KEY = openrouter_error(401, "User not found.")
NOT_MANAGEMENT = openrouter_error(403, "Only management keys can perform this operation")


def _auth(sim: Simulator, key: str | None) -> Reply | None:
    if key is None:
        return NO_KEY
    return None if sim.knows(key, OPENROUTER) else INVALID_KEY


async def _usage(request: web.Request, build: Callable[[Simulator, str], Reply]) -> web.StreamResponse:
    sim, key = request.app[SIM], request_key(request, OPENROUTER)
    if key is None:
        return to_response(NO_KEY)
    return await reply_with_faults(request, OPENROUTER, key, lambda: _auth(sim, key) or build(sim, key))


async def get_key(request: web.Request) -> web.StreamResponse:
    return await _usage(request, lambda sim, key: json_reply(sim.openrouter_key_info(key)))


async def get_credits(request: web.Request) -> web.StreamResponse:
    return await _usage(request, lambda sim, key: json_reply(sim.openrouter_credits(key))
                        if sim.is_management(key) else NOT_MANAGEMENT)


async def chat(request: web.Request) -> web.StreamResponse:
    sim, key = request.app[SIM], request_key(request, OPENROUTER)
    error = _auth(sim, key)
    if error is not None:
        return to_response(error)
    assert key is not None  # _auth answered NO_KEY otherwise
    return await generate(request, OPENROUTER, key)


async def not_found(request: web.Request) -> web.StreamResponse:
    return to_response(openrouter_error(404, "Not Found"))


def setup(app: web.Application) -> None:
    app.router.add_get(BASE + "/key", get_key)
    app.router.add_get(BASE + "/credits", get_credits)
    app.router.add_post(BASE + "/chat/completions", chat)
    app.router.add_route("*", BASE + "/{tail:.*}", not_found)
