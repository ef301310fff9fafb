"""routing.run under /routing.run/v1: usage, hourly usage, kill, chat completions."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from traywidget.simulator.chat import generate
from traywidget.simulator.error_replies import Reply, json_reply, plain_error
from traywidget.simulator.records import ROUTING
from traywidget.simulator.wire import (
    PREFIXES,
    SIM,
    reply_with_faults,
    request_key,
    to_response,
)
from traywidget.simulator.world import Simulator

BASE = PREFIXES[ROUTING]
INVALID_KEY = plain_error(401, "AUTHENTICATION_ERROR", "Invalid API key")
NO_KEY = json_reply({"message": "Authentication required"}, 401)


async def _user_endpoint(request: web.Request, build: Callable[[Simulator, str], Reply]) -> web.StreamResponse:
    """Shared path of user/*: Origin/Referer refusal, auth, faults."""
    if "Origin" in request.headers or "Referer" in request.headers:
        return to_response(json_reply({"message": "Access denied"}, 403))
    sim, key = request.app[SIM], request_key(request, ROUTING)
    if key is None:
        return to_response(NO_KEY)
    return await reply_with_faults(request, ROUTING, key,
                                   lambda: build(sim, key) if sim.knows(key, ROUTING) else INVALID_KEY)


async def user_requests(request: web.Request) -> web.StreamResponse:
    return await _user_endpoint(request, lambda sim, key: json_reply(sim.routing_usage(key)))


async def user_requests_hourly(request: web.Request) -> web.StreamResponse:
    return await _user_endpoint(request, lambda sim, key: json_reply(sim.routing_hourly(key)))


async def kill_streams(request: web.Request) -> web.StreamResponse:
    return await _user_endpoint(request, lambda sim, key: json_reply({"killed_streams": sim.kill_streams(key)}))


async def chat(request: web.Request) -> web.StreamResponse:
    sim, key = request.app[SIM], request_key(request, ROUTING)
    if key is None:
        return to_response(NO_KEY)
    if not sim.knows(key, ROUTING):
        return to_response(INVALID_KEY)
    return await generate(request, ROUTING, key)


async def not_found(request: web.Request) -> web.StreamResponse:
    return to_response(plain_error(404, "NOT_FOUND", "Not found"))


def setup(app: web.Application) -> None:
    app.router.add_get(BASE + "/user/requests", user_requests)
    app.router.add_get(BASE + "/user/requests/hourly", user_requests_hourly)
    app.router.add_post(BASE + "/user/streams/kill", kill_streams)
    app.router.add_post(BASE + "/chat/completions", chat)
    app.router.add_route("*", BASE + "/{tail:.*}", not_found)
