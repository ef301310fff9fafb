"""An OpenAI-compatible provider with no usage endpoint, under
/openai-compatible/v1: chat/completions and the legacy completions (streamed
and not), models, embeddings, and an Anthropic-style messages endpoint.

Limits per key (Simulator.add_openai_compatible_key(rpm=60, tpm=150_000), or
configure(key, rpm=..., tpm=...)): requests and tokens per minute, refilled
evenly (OpenAI's token buckets). Every answer to a known key reports them:
x-ratelimit-{limit,remaining}-{requests,tokens} and x-ratelimit-reset-{requests,tokens}
(time until full again, as a Go duration: "1s", "6m0s", "12ms") on the OpenAI
endpoints; anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset} (reset
as RFC 3339) on /messages. A request that finds a window empty gets a 429 with
those headers plus retry-after-ms and Retry-After (Anthropic: retry-after).
models spends nothing; chat, completions and messages spend one request and
12 prompt tokens plus what they generate; embeddings one request and a token per word.

/messages lives on this prefix rather than a fifth one because providers serve
both APIs on one account (OpenRouter, DeepSeek): one `openai-compatible`
account reaches both. It takes Anthropic's auth (x-api-key, with an
anthropic-version header) or a Bearer key; the OpenAI endpoints take Bearer only.
"""

from __future__ import annotations

from aiohttp import web

from traywidget.simulator.chat import generate
from traywidget.simulator.error_replies import (
    Reply,
    anthropic_error,
    bad_request,
    denial_reply,
    json_reply,
    openai_error,
)
from traywidget.simulator.payloads import embedding_tokens, embeddings, model_list
from traywidget.simulator.ratelimit_headers import openai_window_headers
from traywidget.simulator.records import OPENAI_COMPATIBLE
from traywidget.simulator.wire import (
    PREFIXES,
    SIM,
    reply_with_faults,
    request_key,
    to_response,
)
from traywidget.simulator.world import Simulator

BASE = PREFIXES[OPENAI_COMPATIBLE]
NO_KEY = openai_error(401, "You didn't provide an API key. You need to provide your API key in an "
                           "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                      "invalid_request_error")
INVALID_KEY = openai_error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
ANTHROPIC_NO_KEY = anthropic_error(401, "authentication_error", "x-api-key header is required")
ANTHROPIC_INVALID_KEY = anthropic_error(401, "authentication_error", "invalid x-api-key")
NO_VERSION = anthropic_error(400, "invalid_request_error", "anthropic-version: header is required")
EMBEDDING_MODEL = "text-embedding-3-small"


def _auth(sim: Simulator, key: str | None) -> Reply | None:
    if key is None:
        return NO_KEY
    return None if sim.knows(key, OPENAI_COMPATIBLE) else INVALID_KEY


def _generator(style: str):
    async def handler(request: web.Request) -> web.StreamResponse:
        sim, key = request.app[SIM], request_key(request, OPENAI_COMPATIBLE)
        error = _auth(sim, key)
        if error is not None:
            return to_response(error)
        assert key is not None  # _auth answered NO_KEY otherwise
        return await generate(request, OPENAI_COMPATIBLE, key, style)
    return handler


async def messages(request: web.Request) -> web.StreamResponse:
    sim, key = request.app[SIM], request_key(request, OPENAI_COMPATIBLE, x_api_key=True)
    if key is None:
        return to_response(ANTHROPIC_NO_KEY)
    if not sim.knows(key, OPENAI_COMPATIBLE):
        return to_response(ANTHROPIC_INVALID_KEY)
    if not request.headers.get("anthropic-version"):
        return to_response(NO_VERSION)
    return await generate(request, OPENAI_COMPATIBLE, key, "messages")


async def models(request: web.Request) -> web.StreamResponse:
    sim, key = request.app[SIM], request_key(request, OPENAI_COMPATIBLE)
    error = _auth(sim, key)
    if error is not None:
        return to_response(error)
    assert key is not None  # _auth answered NO_KEY otherwise
    return await reply_with_faults(
        request, OPENAI_COMPATIBLE, key,
        lambda: json_reply(model_list(), headers=openai_window_headers(sim.openai_windows(key), sim.now())),
        compress=True)


async def create_embeddings(request: web.Request) -> web.StreamResponse:
    sim, key = request.app[SIM], request_key(request, OPENAI_COMPATIBLE)
    error = _auth(sim, key)
    if error is not None:
        return to_response(error)
    assert key is not None  # _auth answered NO_KEY otherwise
    try:
        body = await request.json()
        raw = body["input"]
        inputs = [raw] if isinstance(raw, str) else [str(item) for item in raw]
        model = str(body.get("model") or EMBEDDING_MODEL)
    except (ValueError, TypeError, KeyError, AttributeError):
        return to_response(bad_request(OPENAI_COMPATIBLE, "'input' is a required property"))

    def answer() -> Reply:
        denial = sim.admit(key, model, tokens=embedding_tokens(inputs))
        if denial is not None:
            return denial_reply(OPENAI_COMPATIBLE, denial, sim.now())
        return json_reply(embeddings(model, inputs),
                          headers=openai_window_headers(sim.openai_windows(key), sim.now()))

    return await reply_with_faults(request, OPENAI_COMPATIBLE, key, answer, compress=True)


async def not_found(request: web.Request) -> web.StreamResponse:
    return to_response(openai_error(404, f"Invalid URL ({request.method} {request.path})", "invalid_request_error"))


def setup(app: web.Application) -> None:
    app.router.add_post(BASE + "/chat/completions", _generator("chat"))
    app.router.add_post(BASE + "/completions", _generator("text"))
    app.router.add_post(BASE + "/messages", messages)
    app.router.add_get(BASE + "/models", models)
    app.router.add_post(BASE + "/embeddings", create_embeddings)
    app.router.add_route("*", BASE + "/{tail:.*}", not_found)
