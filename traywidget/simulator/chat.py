"""Answers that generate text: POST chat/completions on every provider, and on
openai-compatible the legacy POST completions and the Anthropic-style POST messages.

Each request is first counted against the key's limits (a stream counts one
request when it opens; on openai-compatible it also spends its prompt and
completion tokens). Then the answer carries the provider's rate-limit headers
(Routeway on `:free` models; x-ratelimit-* or anthropic-ratelimit-* on
openai-compatible) and OpenRouter's X-Generation-Id, and comes plain (gzip when
asked) or as a stream driven by streaming.py. Auth is the caller's job.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from traywidget.simulator.error_replies import (
    Reply,
    bad_request,
    denial_reply,
    json_reply,
    stream_error_object,
)
from traywidget.simulator.frames import DONE, FRAMES, data_event, generation_id
from traywidget.simulator.payloads import (
    anthropic_message,
    chat_completion,
    completion_tokens,
    text_completion,
)
from traywidget.simulator.ratelimit_headers import (
    anthropic_window_headers,
    openai_window_headers,
    routeway_retry_after,
    routeway_window_headers,
)
from traywidget.simulator.records import (
    DEFAULT_MODEL,
    OPENAI_COMPATIBLE,
    OPENROUTER,
    ROUTEWAY,
    Denial,
    request_tokens,
)
from traywidget.simulator.streaming import RESET, HttpOut, drive_stream
from traywidget.simulator.wire import (
    SIM,
    STOPPING,
    reply_with_faults,
    stream_with_faults,
    to_response,
    wants_gzip,
)
from traywidget.simulator.world import Simulator

DEFAULT_MAX_TOKENS = 20
ANTHROPIC_MODEL = "claude-3-5-haiku-latest"


@dataclass(frozen=True)
class Ask:
    """What a generation request asks for."""

    style: str  # "chat" (OpenAI chat completions) | "text" (legacy completions) | "messages" (Anthropic)
    model: str
    max_tokens: int
    stream: bool
    include_usage: bool

    @property
    def anthropic(self) -> bool:
        return self.style == "messages"


def _parse(body: Any, provider: str, style: str) -> Ask:
    default_model = ANTHROPIC_MODEL if style == "messages" else DEFAULT_MODEL[provider]
    stream = bool(body.get("stream"))
    include_usage = True
    if provider == OPENAI_COMPATIBLE and style != "messages":  # OpenAI sends usage only when asked
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    return Ask(style, str(body.get("model") or default_model),
               max(1, int(body.get("max_tokens") or DEFAULT_MAX_TOKENS)), stream, include_usage)


async def generate(request: web.Request, provider: str, key: str, style: str = "chat") -> web.StreamResponse:
    """Answer a chat completion, a legacy completion or an Anthropic message (by style)."""
    try:
        ask = _parse(await request.json(), provider, style)
    except (ValueError, TypeError, AttributeError):
        return to_response(bad_request(provider, "Invalid request body", anthropic=style == "messages"))
    sim = request.app[SIM]
    if ask.stream:
        return await stream_with_faults(request, provider, key, lambda: _stream(request, provider, key, ask),
                                        anthropic=ask.anthropic)
    return await reply_with_faults(request, provider, key, lambda: _answer(sim, provider, key, ask),
                                   compress=True, anthropic=ask.anthropic)


def _limit_headers(sim: Simulator, provider: str, key: str, ask: Ask) -> dict[str, str]:
    """The rate-limit headers a successful answer carries, after its request was counted."""
    if provider == ROUTEWAY and ask.model.endswith(":free"):
        windows, now = sim.routeway_windows(key), sim.now()
        return {**routeway_retry_after(windows, now), **routeway_window_headers(windows, now)}
    if provider == OPENAI_COMPATIBLE:
        windows = sim.openai_windows(key)
        return anthropic_window_headers(windows) if ask.anthropic else openai_window_headers(windows, sim.now())
    return {}


def _refused(sim: Simulator, provider: str, key: str, denial: Denial, ask: Ask) -> Reply:
    return denial_reply(provider, denial, sim.now(), legacy=sim.legacy_errors(key), anthropic=ask.anthropic)


def _answer(sim: Simulator, provider: str, key: str, ask: Ask) -> Reply:
    denial = sim.admit(key, ask.model, tokens=request_tokens(completion_tokens(ask.max_tokens)))
    if denial is not None:
        return _refused(sim, provider, key, denial, ask)
    headers = _limit_headers(sim, provider, key, ask)
    if ask.anthropic:
        return json_reply(anthropic_message(ask.model, ask.max_tokens), headers=headers)
    if ask.style == "text":
        return json_reply(text_completion(ask.model, ask.max_tokens), headers=headers)
    answer_id = None
    if provider == OPENROUTER:
        answer_id = generation_id()
        headers["X-Generation-Id"] = answer_id
    return json_reply(chat_completion(ask.model, ask.max_tokens, answer_id, openrouter=provider == OPENROUTER),
                      headers=headers)


async def _stream(request: web.Request, provider: str, key: str, ask: Ask) -> web.StreamResponse:
    sim = request.app[SIM]
    handle, denial = sim.open_stream(key, ask.model, ask.max_tokens, include_usage=ask.include_usage)
    if handle is None:
        assert denial is not None
        if sim.stream_denial(key) == "sse":
            return await _refused_in_stream(request, provider, denial)
        return to_response(_refused(sim, provider, key, denial, ask))
    headers = {"Cache-Control": "no-cache", **_limit_headers(sim, provider, key, ask)}
    stream_id = None
    if provider == OPENROUTER:
        stream_id = generation_id()
        headers["X-Generation-Id"] = stream_id
    gzip = handle.script.gzip and wants_gzip(request)
    if gzip:
        headers["Content-Encoding"] = "gzip"
    response = web.StreamResponse(headers=headers)
    response.content_type = "text/event-stream"
    try:
        await response.prepare(request)
    except BaseException:
        sim.close_stream(handle, "cancelled")
        raise
    frames = FRAMES[ask.style](handle, stream_id)
    out = HttpOut(request, response, handle, gzip)
    outcome = await drive_stream(sim, handle, out, request.app[STOPPING], frames)
    if outcome == RESET:
        raise asyncio.CancelledError  # the connection is gone; aiohttp drops the task quietly
    await out.finish()
    await response.write_eof()
    return response


async def _refused_in_stream(request: web.Request, provider: str, denial: Denial) -> web.StreamResponse:
    """A refused stream answered the other way: 200, the error as an SSE event, the end."""
    sim = request.app[SIM]
    response = web.StreamResponse(headers={"Cache-Control": "no-cache"})
    response.content_type = "text/event-stream"
    await response.prepare(request)
    await response.write(data_event({"error": stream_error_object(provider, denial, sim.now())}) + DONE)
    await response.write_eof()
    return response
