"""/_sim/*: JSON control endpoints mirroring the Python API, for tests that run
the simulator in another process. Never logged as provider requests.

Every answer is {"ok": true, ...}; a bad request is 400 {"ok": false, "error"}.

  GET  /_sim/health
  POST /_sim/reset                      counters, faults, scripts, log, traffic, stream stats
  POST /_sim/account {"provider", ...options, "management"?}
                                        -> {"provider", "api_key", "management_key"}; options as
                                        Simulator.add_*_key (openai-compatible: "rpm", "tpm", "window_s")
  POST /_sim/configure {"key", ...fields}   Simulator.configure: e.g. {"stream_limit": 2,
                                        "stream_denial": "sse"} (routing.run), {"rpm": 3} (openai-compatible)
  POST /_sim/fault {"key", "fault", "params"?: {..., "count"?}, "count"?}
  POST /_sim/clear {"key"?}             faults and stream scripts (of every key without "key")
  POST /_sim/spend {"key", "n"?, "model"?}  -> {"accepted"}
  POST /_sim/stream/script {"key", "count"?, "events"?, "event_bytes"?, "interval_s"?,
                            "hang_after"?, "reset_after"?, "error_after"?, "error"?,
                            "drip_bytes"?, "drip_interval_s"?}     (scripts.py)
  POST /_sim/stream/start {"key", "max_tokens"?, "model"?}  an internal stream -> {"started", "denied"}
  GET  /_sim/streams[?key=K]            {"streams": per provider (or for key K): finished, killed,
                                        cancelled, reset, error, active, last_ended_at}
  GET  /_sim/requests?provider=&key=&path=  -> {"count"}
"""

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
    """Run an action with the request body; ValueError/KeyError/TypeError become 400 JSON."""
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


async def stream_script(request: web.Request, body: dict) -> dict:
    params = dict(body)
    request.app[SIM].script_streams(params.pop("key"), **params)
    return {}


async def account(request: web.Request, body: dict) -> dict:
    provider = body.pop("provider")
    return request.app[SIM].add_account(provider, **body)


async def configure(request: web.Request, body: dict) -> dict:
    fields = dict(body)
    request.app[SIM].configure(fields.pop("key"), **fields)
    return {}


async def streams(request: web.Request, body: dict) -> dict:
    return {"streams": request.app[SIM].stream_stats(request.query.get("key") or None)}


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
        ("POST", "spend", spend), ("POST", "stream/start", stream_start), ("POST", "stream/script", stream_script),
        ("POST", "account", account), ("POST", "configure", configure),
        ("GET", "streams", streams), ("GET", "requests", requests), ("GET", "health", health),
    ):
        app.router.add_route(method, "/_sim/" + path, _control(action))
