"""Running a stream: the one loop that paces a stream's frames, and the
server-side stream consumers.

One loop (`drive_stream`) produces a stream's frames for both an HTTP client
and an internal consumer, so a kill behaves the same for both. A routing.run
stream checks its user's stop token before every event and, while waiting
(long intervals, a scripted hang), about once a second, as routing.run
documents; a killed stream ends with `data: [DONE]`. The key's stream script
(scripts.py) decides the number, size and pace of events and whether the
stream hangs, resets or sends a 429 mid-stream.

Outcomes, counted in Simulator.stream_stats: finished, killed, cancelled
(the client went away or the server stopped), reset, error.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from typing import Protocol

from aiohttp import web

from traywidget.simulator.error_replies import stream_error_object
from traywidget.simulator.frames import ChatFrames, Frames
from traywidget.simulator.records import ROUTING, StreamHandle
from traywidget.simulator.world import Simulator

STOP_CHECK_S = 1.0
# A flat-out stream (interval 0) lets the loop serve others this often.
FLAT_OUT_YIELD_EVERY = 32

FINISHED, KILLED, CANCELLED, RESET, ERROR = "finished", "killed", "cancelled", "reset", "error"


class StreamOut(Protocol):
    async def write(self, data: bytes) -> None: ...

    def abort(self) -> None: ...


class HttpOut:
    """Writes to an HTTP response, in drip pieces when the script says so; gzip-compressed, each
    write flushed, when made with `gzip` (the response then says Content-Encoding: gzip)."""

    def __init__(self, request: web.Request, response: web.StreamResponse, handle: StreamHandle,
                 gzip: bool = False) -> None:
        self._request = request
        self._response = response
        self._drip = handle.script.drip_bytes
        self._drip_interval = handle.script.drip_interval_s
        self._gzip = zlib.compressobj(wbits=16 + zlib.MAX_WBITS) if gzip else None

    async def finish(self) -> None:
        """The end of the gzip stream (nothing to do for a plain one)."""
        if self._gzip is not None:
            await self._response.write(self._gzip.flush())

    async def write(self, data: bytes) -> None:
        if not data:
            return
        if self._gzip is not None:
            data = self._gzip.compress(data) + self._gzip.flush(zlib.Z_SYNC_FLUSH)
        if self._drip is None:
            await self._response.write(data)
            return
        for start in range(0, len(data), self._drip):
            await self._response.write(data[start:start + self._drip])
            await asyncio.sleep(self._drip_interval)

    def abort(self) -> None:
        if self._request.transport is not None:
            self._request.transport.abort()


class DiscardOut:
    """An internal consumer: nobody reads the frames."""

    async def write(self, data: bytes) -> None:
        return None

    def abort(self) -> None:
        return None


class _Pacer:
    """Pauses between events and watches for a stop: the server stopping, or
    (routing.run) the user's stop token changing."""

    def __init__(self, sim: Simulator, handle: StreamHandle, stopping: asyncio.Event) -> None:
        self.sim = sim
        self.handle = handle
        self.stopping = stopping
        self._flat_out = 0
        self._killable = handle.provider == ROUTING

    def killed(self) -> bool:
        return self._killable and self.sim.stream_should_stop(self.handle)

    async def pause(self, seconds: float) -> None:
        if seconds <= 0:
            self._flat_out += 1
            if self._flat_out % FLAT_OUT_YIELD_EVERY == 0:
                await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            await asyncio.sleep(min(left, STOP_CHECK_S))
            if self.stopping.is_set() or self.killed():
                return

    async def hang(self) -> bool:
        """Send nothing until the server stops (False) or a kill arrives (True);
        a client that leaves cancels this."""
        while True:
            try:
                await asyncio.wait_for(self.stopping.wait(), STOP_CHECK_S if self._killable else None)
                return False
            except TimeoutError:
                if self.killed():
                    return True


async def drive_stream(sim: Simulator, handle: StreamHandle, out: StreamOut, stopping: asyncio.Event,
                       frames: Frames | None = None) -> str:
    """Emit the stream's frames through `out`; returns and records the outcome."""
    frames = frames or ChatFrames(handle)
    script = handle.script
    interval = sim.stream_interval_s if script.interval_s is None else script.interval_s
    pacer = _Pacer(sim, handle, stopping)
    outcome = CANCELLED
    try:
        await out.write(frames.opening())
        for index in range(handle.events + 1):
            if stopping.is_set():
                return outcome
            if pacer.killed():
                await out.write(frames.killed())
                outcome = KILLED
                return outcome
            action = script.action_at(index)
            if action == "reset":
                out.abort()
                outcome = RESET
                return outcome
            if action == "error":
                denial = sim.scripted_denial(handle.key, script.error or "")
                error = stream_error_object(handle.provider, denial, sim.now(), legacy=sim.legacy_errors(handle.key),
                                            anthropic=frames.style == "messages")
                await out.write(frames.error(error))
                outcome = ERROR
                return outcome
            if action == "hang":
                if await pacer.hang():
                    await out.write(frames.killed())
                    outcome = KILLED
                return outcome
            if index == handle.events:
                break
            await out.write(frames.content(index))
            await pacer.pause(interval)
        await out.write(frames.closing())
        outcome = FINISHED
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
        task = asyncio.get_running_loop().create_task(drive_stream(self.sim, handle, DiscardOut(), self.stopping))
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
            due = ended is None or time.monotonic() - ended >= restart_after
            if due and self.start(key) is not None:  # refused (limit): try again later
                self._ended_at[key] = time.monotonic()

    async def cancel_all(self) -> None:
        tasks = [t for group in self._tasks.values() for t in group]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


STREAMS = web.AppKey("streams", InternalStreams)
