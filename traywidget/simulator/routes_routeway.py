"""Routeway under /routeway/v1: management-key usage endpoints and chat completions."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from traywidget.simulator.chat import generate
from traywidget.simulator.error_replies import Reply, denial_reply, json_reply, routeway_error
from traywidget.simulator.records import ROUTEWAY
from traywidget.simulator.wire import (
    PREFIXES,
    SIM,
    reply_with_faults,
    request_key,
    to_response,
)
from traywidget.simulator.world import Simulator

BASE = PREFIXES[ROUTEWAY]
NO_KEY = routeway_error(401, "Missing API key. Send Authorization: Bearer <key>.", "authentication_error")
INVALID_KEY = routeway_error(401, "Invalid API key", "authentication_error")
NOT_MANAGEMENT = routeway_error(403, "This endpoint requires a management key", "permission_error")
KEY_NOT_FOUND = routeway_error(404, "API key not found", "invalid_request_error")


def _auth(sim: Simulator, key: str | None) -> Reply | None:
    if key is None:
        return NO_KEY
    return None if sim.knows(key, ROUTEWAY) else INVALID_KEY


async def _management(request: web.Request, endpoint: str,
                      build: Callable[[Simulator, str], Reply]) -> web.StreamResponse:
    """Shared path of account/*: auth, management key, the endpoint's own limit, faults."""
    sim, key = request.app[SIM], request_key(request, ROUTEWAY)
    if key is None:
        return to_response(NO_KEY)

    def answer() -> Reply:
        error = _auth(sim, key)
        if error is not None:
            return error
        if not sim.is_management(key):
            return NOT_MANAGEMENT
        denial = sim.routeway_mgmt_admit(key, endpoint)
        if denial is not None:
            return denial_reply(ROUTEWAY, denial, sim.now(), legacy=sim.legacy_errors(key))
        return build(sim, key)

    return await reply_with_faults(request, ROUTEWAY, key, answer)


async def list_keys(request: web.Request) -> web.StreamResponse:
    return await _management(request, "keys", lambda sim, key: json_reply(sim.routeway_keys(key)))


async def one_key(request: web.Request) -> web.StreamResponse:
    def build(sim: Simulator, key: str) -> Reply:
        try:
            row = sim.routeway_key(key, int(request.match_info["api_key_id"]))
        except ValueError:
            row = None
        return KEY_NOT_FOUND if row is None else json_reply(row)

    return await _management(request, "keys", build)


async def balance(request: web.Request) -> web.StreamResponse:
    return await _management(request, "balance", lambda sim, key: json_reply(sim.routeway_balance(key)))


async def chat(request: web.Request) -> web.StreamResponse:
    sim, key = request.app[SIM], request_key(request, ROUTEWAY)
    error = _auth(sim, key)
    if error is None and key is not None and sim.is_management(key):
        error = routeway_error(403, "Management keys cannot call models", "permission_error")
    if error is not None:
        return to_response(error)
    assert key is not None  # _auth answered NO_KEY otherwise
    return await generate(request, ROUTEWAY, key)


async def not_found(request: web.Request) -> web.StreamResponse:
    return to_response(routeway_error(404, "Not found", "invalid_request_error"))


def setup(app: web.Application) -> None:
    app.router.add_get(BASE + "/account/keys", list_keys)
    app.router.add_get(BASE + "/account/keys/{api_key_id}", one_key)
    app.router.add_get(BASE + "/account/balance", balance)
    app.router.add_post(BASE + "/chat/completions", chat)
    app.router.add_route("*", BASE + "/{tail:.*}", not_found)
