"""Endpoints for testing a pass-through proxy (the local gateway), under every
provider's base URL (P = /routing.run/v1, /openrouter/api/v1, /routeway/v1,
/openai-compatible/v1). They check no key, spend nothing and are logged like
any provider request (so Simulator.count(key=...) counts them).

* P/_echo[/any/sub/path]   any method. Answers 200 JSON with what arrived:
    {"method", "path" (decoded, without query), "raw_path" (as sent, with query),
     "query" (raw query string), "http_version",
     "headers": [[name, value], ...]  every header in order, duplicates kept,
     "credentials": [{"header", "scheme", "sha256", "known_key", "provider"}, ...],
     "body_length", "body_sha256"}
  Credentials (Authorization, Proxy-Authorization, X-API-Key, Api-Key, Cookie)
  never come back as sent: in `headers` their value reads "sha256:<hex>" (after
  the scheme, for "Bearer sha256:<hex>"), so a test compares fingerprint(key)
  and a canary never leaks through the echo. `known_key` says whether the
  simulator knows the secret, `provider` whose key it is (None if unknown).
  Query parameters `status=N` and `header=Name:Value` (repeatable) set the
  echo's own status and extra response headers. gzip when asked.
* GET P/_bytes?size=N[&seed=S][&chunked=1]   N bytes of deterministic binary
  (`payload(N, S)` gives the same bytes), application/octet-stream, with a
  Content-Length unless chunked=1; gzip when asked. At most 256 MiB.
* GET|POST P/_sse?events=N[&event_bytes=B][&interval_s=S][&seed=K]   a deterministic
  SSE stream, for byte-exact comparisons of streams: N events
  `data: {"index": i, "text": "<hex>"}` (each padded to B bytes on the wire), S
  seconds apart, then `data: [DONE]`; `sse_body(N, B, K)` gives the same bytes.
  Not a counted stream (scripts, limits and stream stats do not apply).
* POST P/_upload   multipart/form-data. Answers {"content_type", "parts": [{"name",
  "filename", "content_type", "length", "sha256"}, ...]}; 400 if not multipart.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator

from aiohttp import web
from aiohttp.web import ContentCoding

from traywidget.simulator.frames import DONE, data_event, padded
from traywidget.simulator.wire import PREFIXES, SIM, wants_gzip

CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "x-api-key", "api-key", "cookie")
BLOCK = 64 * 1024
MAX_BYTES = 256 * 1024 * 1024
READ_CHUNK = 64 * 1024


def fingerprint(secret: str) -> str:
    """How the echo shows a secret: "sha256:" + the hex digest of its UTF-8 bytes."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


def payload_blocks(size: int, seed: int = 0) -> Iterator[bytes]:
    """The bytes of GET _bytes?size=size&seed=seed, 64 KiB at a time (every byte value occurs)."""
    for index, start in enumerate(range(0, size, BLOCK)):
        yield hashlib.shake_256(f"{seed}:{index}".encode()).digest(min(BLOCK, size - start))


def payload(size: int, seed: int = 0) -> bytes:
    return b"".join(payload_blocks(size, seed))


def sse_events(events: int, event_bytes: int | None = None, seed: int = 0) -> Iterator[bytes]:
    """The events of _sse?events=...&event_bytes=...&seed=..., then `data: [DONE]`."""
    for index in range(events):
        text = hashlib.shake_256(f"{seed}:{index}".encode()).hexdigest(8)
        yield padded(lambda text, index=index: data_event({"index": index, "text": text}), text, event_bytes)
    yield DONE


def sse_body(events: int, event_bytes: int | None = None, seed: int = 0) -> bytes:
    return b"".join(sse_events(events, event_bytes, seed))


def _credential(name: str, value: str) -> tuple[str, str | None, str]:
    """(value as the echo shows it, its scheme, the secret) of a credential header."""
    scheme, space, rest = value.strip().partition(" ")
    if name in ("authorization", "proxy-authorization") and space and rest.strip():
        return f"{scheme} {fingerprint(rest.strip())}", scheme, rest.strip()
    return fingerprint(value.strip()), None, value.strip()


def _bodyless(status: int) -> bool:
    return status in (204, 304) or not 200 <= status <= 599


async def echo(request: web.Request) -> web.StreamResponse:
    sim = request.app[SIM]
    try:
        status = int(request.query.get("status", "200"))
        extra = [item.split(":", 1) for item in request.query.getall("header", [])]
        if _bodyless(status) or any(len(pair) != 2 or not pair[0].strip() for pair in extra):
            raise ValueError
    except ValueError:
        return web.json_response({"error": {"message": "status: 200..599 with a body; header: Name:Value"}},
                                 status=400)
    digest, length = hashlib.sha256(), 0
    async for chunk in request.content.iter_chunked(READ_CHUNK):
        digest.update(chunk)
        length += len(chunk)
    headers, credentials = [], []
    for raw_name, raw_value in request.raw_headers:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name.lower() in CREDENTIAL_HEADERS:
            value, scheme, secret = _credential(name.lower(), value)
            provider = sim.provider_of(secret)
            credentials.append({"header": name, "scheme": scheme,
                                "sha256": fingerprint(secret).removeprefix("sha256:"),
                                "known_key": provider is not None, "provider": provider})
        headers.append([name, value])
    body = {"method": request.method, "path": request.path, "raw_path": request.raw_path,
            "query": request.rel_url.raw_query_string,
            "http_version": f"{request.version.major}.{request.version.minor}",
            "headers": headers, "credentials": credentials, "body_length": length,
            "body_sha256": digest.hexdigest()}
    response = web.json_response(body, status=status)
    for name, value in extra:
        response.headers.add(name.strip(), value.strip())
    if wants_gzip(request):
        response.enable_compression(ContentCoding.gzip)
    return response


async def binary(request: web.Request) -> web.StreamResponse:
    try:
        size = int(request.query.get("size", "0"))
        seed = int(request.query.get("seed", "0"))
        if not 0 <= size <= MAX_BYTES:
            raise ValueError
    except ValueError:
        return web.json_response({"error": {"message": f"size must be 0..{MAX_BYTES}, seed an integer"}},
                                 status=400)
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    if request.query.get("chunked") not in ("1", "true"):
        response.content_length = size
    if wants_gzip(request):
        response.enable_compression(ContentCoding.gzip)
    await response.prepare(request)
    for block in payload_blocks(size, seed):
        await response.write(block)
    await response.write_eof()
    return response


async def sse(request: web.Request) -> web.StreamResponse:
    query = request.query
    try:
        events = int(query.get("events", "10"))
        event_bytes = int(query["event_bytes"]) if "event_bytes" in query else None
        interval = float(query.get("interval_s", "0"))
        seed = int(query.get("seed", "0"))
        if not (0 <= events <= 10_000_000 and interval >= 0):
            raise ValueError
    except ValueError:
        return web.json_response({"error": {"message": "events, event_bytes, seed: integers >= 0; "
                                                       "interval_s: seconds >= 0"}}, status=400)
    response = web.StreamResponse(headers={"Cache-Control": "no-cache"})
    response.content_type = "text/event-stream"
    await response.prepare(request)
    for index, frame in enumerate(sse_events(events, event_bytes, seed)):
        await response.write(frame)
        if interval:
            await asyncio.sleep(interval)
        elif index % 32 == 31:
            await asyncio.sleep(0)
    await response.write_eof()
    return response


async def upload(request: web.Request) -> web.StreamResponse:
    if not request.content_type.startswith("multipart/"):
        return web.json_response({"error": {"message": "a multipart/form-data body is required"}}, status=400)
    parts = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        digest, length = hashlib.sha256(), 0
        while chunk := await part.read_chunk(READ_CHUNK):  # type: ignore[union-attr]  # no nested multipart here
            digest.update(chunk)
            length += len(chunk)
        parts.append({"name": part.name, "filename": part.filename,  # type: ignore[union-attr]  # likewise
                      "content_type": part.headers.get("Content-Type"), "length": length,
                      "sha256": digest.hexdigest()})
    return web.json_response({"content_type": request.headers.get("Content-Type"), "parts": parts})


def setup(app: web.Application) -> None:
    """Before the providers' own routes, so their catch-all 404s do not shadow these."""
    for prefix in PREFIXES.values():
        app.router.add_route("*", prefix + "/_echo{tail:(/.*)?}", echo)
        app.router.add_get(prefix + "/_bytes", binary)
        app.router.add_post(prefix + "/_upload", upload)
        app.router.add_route("GET", prefix + "/_sse", sse)
        app.router.add_route("POST", prefix + "/_sse", sse)
