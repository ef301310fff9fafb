"""OpenAI-style SSE streams and the server-side stream consumers.

One loop (`drive_stream`) produces a stream's frames for both an HTTP client
and an internal consumer, so a kill behaves the same for both: the routing.run
stop token is checked at every frame (about every 0.2 s) and a killed stream
ends with `data: [DONE]`.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Awaitable, Callable

from aiohttp import web

from traywidget.simulator.records import OPENROUTER, StreamHandle
from traywidget.simulator.state import Simulator

WORDS = ("Lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit")
PROMPT_TOKENS = 12


def _frame(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _chunk(handle: StreamHandle, created: int, delta: dict, finish: str | None = None) -> dict:
    return {"id": f"chatcmpl-sim{handle.id}", "object": "chat.completion.chunk", "created": created,
            "model": handle.model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def usage_block(completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": completion_tokens,
            "total_tokens": PROMPT_TOKENS + completion_tokens}


def completion(model: str, max_tokens: int) -> dict[str, Any]:
    """A non-streaming chat.completion answer."""
    tokens = min(max_tokens, len(WORDS))
    return {"id": f"chatcmpl-sim{int(time.time() * 1000)}", "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": " ".join(WORDS[:tokens])}}],
            "usage": usage_block(tokens)}


async def drive_stream(sim: Simulator, handle: StreamHandle, write: Callable[[bytes], Awaitable[None]],
                       stopping: asyncio.Event) -> str:
    """Emit the stream's frames through `write`; returns and records the outcome."""
    outcome = "cancelled"
    created = int(time.time())
    try:
        for index in range(handle.max_tokens):
            if stopping.is_set():
                return outcome
            if sim.stream_should_stop(handle):
                await write(b"data: [DONE]\n\n")
                outcome = "killed"
                return outcome
            if handle.provider == OPENROUTER and index % 5 == 0:
                await write(b": OPENROUTER PROCESSING\n\n")
            delta = {"content": WORDS[index % len(WORDS)] + " "}
            if index == 0:
                delta["role"] = "assistant"
            await write(_frame(_chunk(handle, created, delta)))
            await asyncio.sleep(sim.stream_interval_s)
        await write(_frame(_chunk(handle, created, {}, "length")))
        await write(_frame({**_chunk(handle, created, {}), "choices": [],
                            "usage": usage_block(handle.max_tokens)}))
        await write(b"data: [DONE]\n\n")
        outcome = "finished"
        return outcome
    finally:
        sim.close_stream(handle, outcome)


class InternalStreams:
    """Server-side stream consumers: an active stream with no HTTP client,
    so "kill all streams" has something to stop (tests, demo)."""

    def __init__(self, sim: Simulator, stopping: asyncio.Event) -> None:
        self.sim = sim
        self.stopping = stopping
        self._tasks: dict[str, set[asyncio.Task]] = {}
        self._ended_at: dict[str, float] = {}

    def start(self, key: str, max_tokens: int = 10**9, model: str | None = None):
        """Open a stream on key now (must run on the server loop); returns the denial if refused."""
        handle, denial = self.sim.open_stream(key, model, max_tokens, internal=True)
        if handle is None:
            return denial

        async def discard(_: bytes) -> None:
            return None

        task = asyncio.get_running_loop().create_task(drive_stream(self.sim, handle, discard, self.stopping))
        self._tasks.setdefault(key, set()).add(task)
        task.add_done_callback(lambda t: self._done(key, t))
        return None

    def _done(self, key: str, task: asyncio.Task) -> None:
        self._tasks.get(key, set()).discard(task)
        self._ended_at[key] = time.monotonic()

    def maintain(self) -> None:
        """Reopen kept streams that ended more than their restart delay ago."""
        for key, restart_after in self.sim.kept_streams().items():
            if self._tasks.get(key):
                continue
            ended = self._ended_at.get(key)
            if ended is None or time.monotonic() - ended >= restart_after:
                if self.start(key) is not None:  # refused (limit): try again later
                    self._ended_at[key] = time.monotonic()

    async def cancel_all(self) -> None:
        tasks = [t for group in self._tasks.values() for t in group]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


STREAMS = web.AppKey("streams", InternalStreams)
