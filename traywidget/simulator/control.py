"""/_sim/*: JSON control endpoints mirroring the Python API, for tests that run
the simulator in another process. Never logged as provider requests."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from traywidget.simulator.streaming import STREAMS
from traywidget.simulator.wire import SIM


def _ok(data: dict[str, Any] | None = None, status: int = 200) -> web.Response:
    return web.json_response({"ok": status < 400, **(data or {})}, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text='{"ok": false, "error": "JSON body required"}',
                                 content_type="application/json") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text='{"ok": false, "error": "JSON object required"}',
                                 content_type="application/json")
    return data


def _control(action):
    """Run an action with the request body; ValueError/KeyError become 400 JSON."""
    async def handler(request: web.Request) -> web.Response:
        body = await _body(request) if request.method == "POST" and request.can_read_body else {}
        try:
            return _ok(await action(request, body))
        except (ValueError, KeyError, TypeError) as exc:
            return _ok({"error": f"{type(exc).__name__}: {exc}"}, 400)
    return handler


async def reset(request: web.Request, body: dict) -> dict:
    await request.app[STREAMS].cancel_all()
    request.app[SIM].reset()
    return {}


async def fault(request: web.Request, body: dict) -> dict:
    params = dict(body.get("params") or {})
    request.app[SIM].inject(body["key"], body["fault"], count=params.pop("count", body.get("count")), **params)
    return {}


async def clear(request: web.Request, body: dict) -> dict:
    request.app[SIM].clear(body.get("key"))
    return {}


async def spend(request: web.Request, body: dict) -> dict:
    accepted = request.app[SIM].spend(body["key"], int(body.get("n", 1)), body.get("model"))
    return {"accepted": accepted}


async def stream_start(request: web.Request, body: dict) -> dict:
    denial = request.app[STREAMS].start(body["key"], int(body.get("max_tokens", 10**9)), body.get("model"))
    return {"started": denial is None, "denied": None if denial is None else denial.kind}


async def account(request: web.Request, body: dict) -> dict:
    provider = body.pop("provider")
    return request.app[SIM].add_account(provider, **body)


async def streams(request: web.Request, body: dict) -> dict:
    return {"streams": request.app[SIM].stream_stats()}


async def requests(request: web.Request, body: dict) -> dict:
    query = request.query
    count = request.app[SIM].count(query.get("provider") or None, query.get("key") or None,
                                   query.get("path") or None)
    return {"count": count}


async def health(request: web.Request, body: dict) -> dict:
    return {}


def setup(app: web.Application) -> None:
    for method, path, action in (
        ("POST", "reset", reset), ("POST", "fault", fault), ("POST", "clear", clear),
        ("POST", "spend", spend), ("POST", "stream/start", stream_start), ("POST", "account", account),
        ("GET", "streams", streams), ("GET", "requests", requests), ("GET", "health", health),
    ):
        app.router.add_route(method, "/_sim/" + path, _control(action))
