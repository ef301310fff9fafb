"""A small provider stand-in for what the simulator does not do: hold a stream
at a gate the test opens, answer nothing at all, flood a client that never
reads (counting what it could send), count the connections it was asked on,
send a compressed SSE stream, a coding nobody can undo, a well-formed HEAD.
Served on loopback from the test's own loop; everything else is the simulator's.

Routes (under any prefix, so one server plays several base URLs):
  .../echo          the method, raw path and headers received, as JSON
  .../bytes?n=&seed= n deterministic pseudo-random bytes (HEAD answered without a body)
  .../sse?n=&gap=   n OpenAI-style events, `gap` seconds apart
  .../gated         one event, then waits for `release()`, then a second event
  .../hang          answers nothing until the client leaves
  .../status/{n}    status n with an OpenAI-shaped error body
  .../flood         an endless body, as fast as the client takes it (counts bytes sent)
  .../gzip-sse      a gzip-compressed SSE stream with an error chunk ([?gated=1]: waits at the gate)
  .../brotli-429    a 429 in a coding the gateway cannot undo (whatever it was asked), echoing the key
  .../gzip-echo-429 a gzip-compressed 429 repeating the key it was sent
  .../brotli-sse    an SSE stream in that coding, waiting at the gate after its first bytes
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import random
import zlib

from aiohttp import web


def pseudo_random(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def sse_event(index: int) -> bytes:
    chunk = {"id": "chatcmpl-t", "object": "chat.completion.chunk", "created": 1,
             "model": "m", "choices": [{"index": 0, "delta": {"content": f"w{index} "}, "finish_reason": None}]}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


SSE_ERROR = (b'data: {"id":"gen-1","object":"chat.completion.chunk","error":{"code":429,'
             b'"message":"Rate limit exceeded: upstream provider busy"},'
             b'"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}\n\n')


class Upstream:
    def __init__(self) -> None:
        self.port: int | None = None
        self.runner: web.AppRunner | None = None
        self.requests: list[dict] = []
        self.open_handlers = 0
        self.closed = asyncio.Event()
        self.gate = asyncio.Event()
        self.flood_sent = 0
        self.peers: set = set()  # the client ends of the connections it was asked on

    def base(self, prefix: str = "p") -> str:
        return f"http://127.0.0.1:{self.port}/{prefix}/v1"

    def release(self) -> None:
        self.gate.set()

    async def start(self) -> Upstream:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_route("*", "/{prefix}/v1/{name}{rest:(/.*)?}", self._route)
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False, handler_cancellation=True,
                                    shutdown_timeout=0.5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _route(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.peers.add(tuple(peer[:2]) if peer else None)
        self.requests.append({"method": request.method, "path": request.raw_path,
                              "headers": list(request.headers.items()),
                              "sha256": hashlib.sha256(body).hexdigest(), "length": len(body)})
        self.open_handlers += 1
        self.closed.clear()
        try:
            return await getattr(self, "_" + request.match_info["name"].replace("-", "_"))(request)
        finally:
            self.open_handlers -= 1
            if not self.open_handlers:
                self.closed.set()

    async def _echo(self, request: web.Request) -> web.Response:
        return web.json_response(self.requests[-1], headers={"X-Upstream": "echo"})

    async def _bytes(self, request: web.Request) -> web.Response:
        n, seed = int(request.query.get("n", "1000")), int(request.query.get("seed", "1"))
        return web.Response(body=pseudo_random(n, seed), content_type="application/octet-stream")


    async def _stream(self, request: web.Request, events: list[bytes], gap: float) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "X-RateLimit-Limit-Minute": "5",
                                               "X-RateLimit-Remaining-Minute": "4", "X-RateLimit-Reset-Minute": "30"})
        await response.prepare(request)
        for event in events:
            await response.write(event)
            await asyncio.sleep(gap)
        await response.write_eof()
        return response

    async def _sse(self, request: web.Request) -> web.StreamResponse:
        n, gap = int(request.query.get("n", "5")), float(request.query.get("gap", "0"))
        return await self._stream(request, [sse_event(i) for i in range(n)] + [b"data: [DONE]\n\n"], gap)


    async def _gzip_sse(self, request: web.Request) -> web.StreamResponse:
        """An SSE stream sent gzip-compressed, each event flushed so it can be read as it arrives."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Content-Encoding": "gzip"})
        await response.prepare(request)
        packer = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
        for event in (sse_event(0), SSE_ERROR, b"data: [DONE]\n\n"):
            await response.write(packer.compress(event) + packer.flush(zlib.Z_SYNC_FLUSH))
            if request.query.get("gated"):
                await self.gate.wait()
        await response.write(packer.flush())
        await response.write_eof()
        return response

    async def _gzip_echo_429(self, request: web.Request) -> web.Response:
        """A gzip-compressed 429 whose message repeats the key the request carried."""
        key = request.headers.get("Authorization", "").removeprefix("Bearer ")
        body = json.dumps({"error": {"message": f"Rate limit reached for key {key}", "type": "requests"}})
        return web.Response(status=429, body=gzip.compress(body.encode()),
                            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})

    async def _brotli_sse(self, request: web.Request) -> web.StreamResponse:
        """An SSE stream in a coding the gateway cannot undo (bytes that stand for brotli), gated
        after its first piece."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Content-Encoding": "br"})
        await response.prepare(request)
        await response.write(b"\x1b\x0b\x00\xf8not-really-brotli")
        await self.gate.wait()
        await response.write_eof()
        return response

    async def _brotli_429(self, request: web.Request) -> web.Response:
        """A provider that answers br although it was not asked for it; the bytes stand for brotli and
        carry the key in clear, as a message echoing it would once decoded."""
        key = request.headers.get("Authorization", "").removeprefix("Bearer ").encode()
        return web.Response(status=429, body=b"\x1b\x0b\x00\xf8\xa5not-really-brotli " + key,
                            headers={"Content-Encoding": "br", "Content-Type": "application/json",
                                     "Retry-After": "7", "X-RateLimit-Remaining-Requests": "0"})

    async def _gated(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(sse_event(0))
        await self.gate.wait()
        await response.write(sse_event(1))
        await response.write_eof()
        return response

    async def _hang(self, request: web.Request) -> web.StreamResponse:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")



    async def _status(self, request: web.Request) -> web.Response:
        status = int(request.match_info["rest"].strip("/") or "500")
        body = {"error": {"message": f"upstream says {status}", "type": "server_error", "code": None}}
        return web.json_response(body, status=status)

    async def _flood(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        block = b"z" * 65536
        try:
            while True:
                await response.write(block)
                self.flood_sent += len(block)
        except ConnectionError:  # the gateway hung up: the end of this flood
            return response
