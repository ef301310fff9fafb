"""One forwarded exchange: the user's request up, the provider's answer down.

Both bodies are streamed, never held whole: the request body goes up as it
arrives, the response goes down chunk by chunk (an SSE stream event by event,
see sse.py). A slow reader slows the upstream read (aiohttp's buffers are
bounded and `write` waits for the client to drain), so a client that never
reads never grows memory. Compression is the two ends' choice among the
codings the gateway can read (gzip, deflate: the client's Accept-Encoding is
narrowed to those), so every answer can be read, masked and ended at a stop;
an event stream or a refusal is passed on decoded, anything else as it came.

Only a copy is read to learn from (learning.py): the response's status and
headers, the first bytes of a refusal's body, SSE events that mention an error.

The upstream connection is closed explicitly whenever the exchange ends
early — the client went away (aiohttp cancels the handler) or the user
stopped it (the registry cancels the handler) — because an abandoned
response does not close its connection by itself, and an open upstream
connection keeps generating and billing.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import aiohttp
from aiohttp import web
from aiohttp.helpers import get_env_proxy_for_url
from multidict import CIMultiDict, MultiMapping
from yarl import URL

from traywidget.engine.http_client import FOLLOW_REDIRECTS
from traywidget.gateway.guard import CREDENTIAL_HEADERS, error_response
from traywidget.gateway.learning import READABLE_CODINGS, CopyDecoder, ObservationSink, ResponseReader, UsageSink
from traywidget.gateway.registry import HeldExchange
from traywidget.gateway.sse import EventSplitter
from traywidget.model import Account, RequestUsage
from traywidget.providers.base import Provider
from traywidget.providers.from_traffic import error_in_dialect, is_event_stream, stopped_event, stopped_reply
from traywidget.providers.scrub import scrub_bytes

log = logging.getLogger(__name__)

# RFC 9110 7.6.1: these describe one connection, not the message.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
    "trailer", "trailers", "transfer-encoding", "upgrade",
})
# Never passed up: the gateway token, the client's idea of the host, and what aiohttp answers itself.
_NOT_FORWARDED_UP = HOP_BY_HOP | set(CREDENTIAL_HEADERS) | {"host", "expect"}
# How long the last words to a stopped client may take (a client that never reads gets none).
STOPPED_WRITE_S = 1.0
# A compressed stream is passed on decoded in pieces of at most this much (a small body may inflate hugely).
DECODED_PIECE_BYTES = 65_536


class ProxyChoice:
    """The HTTP(S)_PROXY / NO_PROXY choice for each provider host, made once per host
    (the lookup may block: on macOS it reads the system's settings)."""

    def __init__(self) -> None:
        self._chosen: dict[tuple[str, str | None, int | None], URL | None] = {}

    async def proxy_for(self, url: URL) -> URL | None:
        place = (url.scheme, url.host, url.port)
        if place not in self._chosen:
            self._chosen[place] = await asyncio.to_thread(_env_proxy, url)
        return self._chosen[place]


def _env_proxy(url: URL) -> URL | None:
    try:
        proxy, _ = get_env_proxy_for_url(url)
    except LookupError:
        return None
    return proxy


@dataclass(frozen=True)
class Target:
    """Where an account's traffic goes and how it is read."""

    account: Account
    provider: Provider


def upstream_url(base_url: str, raw_tail: str, raw_query: str) -> URL:
    """The provider URL for a path under the account's address (still percent-encoded).

    A path that repeats the base URL's trailing /v1 has it once: Anthropic SDKs
    append /v1/messages to their base URL, OpenAI SDKs append /chat/completions
    to one that ends in /v1 — both work with the same address."""
    base = base_url.rstrip("/")
    tail = raw_tail.lstrip("/")
    if base.endswith("/v1") and (tail == "v1" or tail.startswith("v1/")):
        tail = tail[2:].lstrip("/")
    url = base + ("/" + tail if tail else "")
    if raw_query:
        url += "?" + raw_query
    return URL(url, encoded=True)


def _dropped_by_connection(headers: MultiMapping[str]) -> set[str]:
    """Headers the Connection header names: hop-by-hop for this message too."""
    named: set[str] = set()
    for value in headers.getall("Connection", ()):
        named.update(token.strip().lower() for token in value.split(",") if token.strip())
    return named


def request_headers(incoming: MultiMapping[str], auth: dict[str, str]) -> CIMultiDict[str]:
    """The client's headers as the provider must see them: the gateway token out, the real key in, and
    only codings the gateway can read accepted."""
    dropped = _NOT_FORWARDED_UP | _dropped_by_connection(incoming)
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in incoming.items():
        if name.lower() not in dropped:
            headers.add(name, value)
    headers.popall("Accept-Encoding", None)
    headers["Accept-Encoding"] = readable_accept_encoding(incoming.getall("Accept-Encoding", ()))
    for name, value in auth.items():
        headers[name] = value
    return headers


def readable_accept_encoding(values: Iterable[str]) -> str:
    """The client's Accept-Encoding narrowed to the codings the gateway can read, as the client wrote them
    (weights kept); "identity" when none is left or none was said (which would allow any coding). A
    br or zstd answer could only be passed on unread: its usage unknown, a key it echoes unmasked."""
    kept = [item.strip() for value in values for item in value.split(",")
            if item.split(";", 1)[0].strip().lower() in READABLE_CODINGS]
    return ", ".join(kept) or "identity"


def response_headers(upstream: MultiMapping[str]) -> CIMultiDict[str]:
    dropped = HOP_BY_HOP | _dropped_by_connection(upstream)
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in upstream.items():
        if name.lower() not in dropped:
            headers.add(name, value)
    return headers


class Exchange:
    """Forwards one request; `run` returns the response the client got."""

    def __init__(self, request: web.Request, target: Target, held: HeldExchange, session: aiohttp.ClientSession,
                 url: URL, headers: CIMultiDict[str], proxy: URL | None, observe: ObservationSink,
                 now: Callable[[], datetime], on_rejected_key: Callable[[], None],
                 known: tuple[str, ...] = (), on_usage: UsageSink | None = None) -> None:
        self.request = request
        self.known = known
        self.on_usage = on_usage
        self.proxy = proxy
        self.target = target
        self.held = held
        self.session = session
        self.url = url
        self.headers = headers
        self.observe = observe
        self.now = now
        self.on_rejected_key = on_rejected_key
        self.tail = request.match_info.get("tail", "")

    @property
    def account_id(self) -> str:
        return self.target.account.id

    async def run(self) -> web.StreamResponse:
        try:
            upstream = await self.session.request(
                self.request.method, self.url, headers=self.headers,
                data=self.request.content if self.request.body_exists else None,
                allow_redirects=FOLLOW_REDIRECTS, proxy=self.proxy)
        except asyncio.CancelledError:
            if self._stopped_here():
                if self.on_usage is not None:  # sent, stopped before any answer: nothing reported
                    self.on_usage(RequestUsage(stopped=True))
                return self._stopped_before_answer()
            raise
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return self._unreachable(exc)
        try:
            return await self._answer(upstream)
        finally:
            # close(), not release(): an unfinished body must not go back to the pool.
            upstream.close()

    async def _answer(self, upstream: aiohttp.ClientResponse) -> web.StreamResponse:
        if upstream.status == 401:
            self.on_rejected_key()
        forwarded = response_headers(upstream.headers)
        seen: MultiMapping[str] = upstream.headers
        decoder = _passed_decoded(upstream.status, upstream.headers)
        if decoder is not None:
            # Passed on decoded (identity is always acceptable to a client): a compressed event stream,
            # so that it can be ended, at a stop, by a whole event saying so — a compressed one could
            # only be broken off, which SDKs report as a bare "Connection error." and may retry; and a
            # refusal, so that a key it echoes can be masked.
            for name in ("Content-Encoding", "Content-Length"):
                forwarded.popall(name, None)
            decoded: CIMultiDict[str] = CIMultiDict(upstream.headers)
            decoded.popall("Content-Encoding", None)
            seen = decoded
        reader = ResponseReader(self.target.provider, self.account_id, upstream.status, seen,
                                self.observe, self.now, base_url=self.target.account.base_url, known=self.known,
                                on_usage=self.on_usage)
        if upstream.status >= 400 and decoder is None and not reader.plain:
            reader.finish()  # learned from by its status and headers
            return _unread_refusal(upstream, forwarded, self.target.provider, self.tail)
        # A refusal may echo the key it was sent: the tool, which holds only the gateway token, must not
        # get it. Masking keeps the length (Content-Length holds); a refusal is small and comes whole.
        scrub_refusal = upstream.status >= 400 and reader.plain
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason, headers=forwarded)
        # A plain SSE stream goes on event by event, so a stop can end it with a whole event of its own.
        splitter = EventSplitter() if reader.event_stream and reader.plain else None
        try:
            await response.prepare(self.request)
            content = upstream.content
            while True:
                try:
                    chunk = await content.readany()
                except (aiohttp.ClientError, OSError) as exc:
                    return self._upstream_broke(response, exc)
                if not chunk:
                    break
                for piece in [chunk] if decoder is None else decoder.decode(chunk, DECODED_PIECE_BYTES):
                    if splitter is not None:
                        piece = splitter.feed(piece)
                        if not piece:
                            continue
                        reader.feed_events(piece)  # the reader scrubs its own copy
                        if b"error" in piece:  # whole events: an error event may echo the key too
                            piece = scrub_bytes(piece, self.known, keep_length=True)
                    else:
                        reader.feed(piece)
                        if scrub_refusal:
                            piece = scrub_bytes(piece, self.known, keep_length=True)
                    await response.write(piece)
                if decoder is not None and decoder.failed:
                    return self._upstream_broke(response, ValueError("not the gzip its header says"))
            if splitter is not None and (rest := splitter.flush()):
                reader.feed_events(rest)
                await response.write(rest)
            await response.write_eof()
        except asyncio.CancelledError:
            if not self._stopped_here():
                raise
            upstream.close()  # first of all: the provider stops generating
            return await self._stopped_mid_answer(response, splitter, reader.event_stream)
        except ConnectionError:
            # The client left between two writes (before aiohttp noticed and cancelled us): an
            # ordinary end, not an error. run() closes the upstream on the way out.
            log.debug("The client of %s left mid-answer", self.account_id)
            return response
        finally:
            reader.finish(stopped=self.held.stopped)
        return response

    # -- ending early ----------------------------------------------------------

    def _stopped_here(self) -> bool:
        """Whether this cancellation is a stop from traywidget (and only that)."""
        if not self.held.stopped:
            return False
        task = asyncio.current_task()
        # Also cancelled for another reason (the client left, shutdown): that one wins.
        return task is None or task.uncancel() == 0

    def _stopped_before_answer(self) -> web.Response:
        status, body, headers = stopped_reply(self.target.provider, self.tail)
        return web.Response(status=status, body=body, headers=headers)

    async def _stopped_mid_answer(self, response: web.StreamResponse, splitter: EventSplitter | None,
                                  event_stream: bool) -> web.StreamResponse:
        if not response.prepared:
            # Stopped between the answer's arrival and its first byte to the client.
            return self._stopped_before_answer()
        if splitter is None:
            # A body cut short must not look complete to the client (nor can a compressed stream
            # take an event of ours).
            if event_stream:
                log.info("Stopped a compressed stream of %s by closing it", self.account_id)
            self._abort_client()
            return response
        ending = stopped_event(self.target.provider, self.tail)
        if not splitter.aligned:
            ending = b"\n\n" + ending
        try:
            async with asyncio.timeout(STOPPED_WRITE_S):
                await response.write(ending)
                await response.write_eof()
        except (TimeoutError, ConnectionError, RuntimeError):
            self._abort_client()
        return response

    def _upstream_broke(self, response: web.StreamResponse, exc: BaseException) -> web.StreamResponse:
        """The provider's connection broke mid-answer: the client's breaks too, so it
        does not take a cut-off body for a whole one."""
        log.info("Upstream of %s broke off mid-answer (%s)", self.account_id, type(exc).__name__)
        self._abort_client()
        return response

    def _abort_client(self) -> None:
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    def _unreachable(self, exc: BaseException) -> web.Response:
        host = self.url.host or "the provider"
        local = _local_shortage(exc)
        if local is not None:
            # This computer ran short, not the provider: said as such, and as worth a retry.
            log.warning("Out of %s while connecting to %s for %s", local, host, self.account_id)
            return error_response(503, f"traywidget ran out of {local} on this computer while connecting to {host}; "
                                  "retry in a moment (too many connections are open at once).",
                                  "local_resource_limit", "api_error", headers={"Retry-After": "1"})
        log.info("Cannot reach %s for %s (%s)", host, self.account_id, type(exc).__name__)
        return error_response(502, f"traywidget got no answer from {host}: {_describe(exc)}.", "upstream_unreachable",
                              "api_error")


def _unread_refusal(upstream: aiohttp.ClientResponse, forwarded: CIMultiDict[str], provider: Provider,
                    path: str) -> web.Response:
    """A refusal in a coding the gateway was not asked for and cannot read (br, zstd): its body could
    echo the key, so it is not passed on. The status and the headers a tool acts on (Retry-After, the
    rate-limit headers) are, with the gateway's own words in the shape the tool expects."""
    upstream.close()
    for name in ("Content-Encoding", "Content-Length", "Content-Type"):
        forwarded.popall(name, None)
    coding = upstream.headers.get("Content-Encoding", "").strip()
    message = (f"The provider refused the request (HTTP {upstream.status}) in a compression traywidget did not ask "
               f"for and cannot read ({coding}), so its message is not passed on: it could hold your key.")
    body, headers = error_in_dialect(provider, path, upstream.status, message, "unreadable_provider_error")
    forwarded.update(headers)
    return web.Response(status=upstream.status, body=body, headers=forwarded)


def _passed_decoded(status: int, headers: MultiMapping[str]) -> CopyDecoder | None:
    """A decoder for an answer the gateway passes on decoded (a 200 event stream, a refusal) when
    it came in a coding the gateway can undo; None otherwise (a plain one; br or zstd, which the
    gateway never asks for: a stream can then only be broken off at a stop, a refusal is replaced)."""
    if not (status >= 400 or (status == 200 and is_event_stream(headers.get("Content-Type")))):
        return None
    try:
        return CopyDecoder.for_encoding(headers.get("Content-Encoding"))
    except LookupError:
        return None


# What a connect fails with when this computer (not the provider) is short of something.
_LOCAL_SHORTAGES = {
    errno.EMFILE: "open files", errno.ENFILE: "open files", errno.ENOBUFS: "network buffers",
    errno.ENOMEM: "memory", errno.EADDRNOTAVAIL: "local ports",
}


def _local_shortage(exc: BaseException) -> str | None:
    """What this computer ran out of, when that is why the connection failed."""
    error: BaseException | None = exc
    while error is not None:
        number = getattr(error, "errno", None)
        if isinstance(error, aiohttp.ClientConnectorError):
            number = error.os_error.errno
        if number in _LOCAL_SHORTAGES:
            return _LOCAL_SHORTAGES[number]
        error = error.__cause__ or error.__context__
    return None


def _describe(exc: BaseException) -> str:
    """A short, secret-free description of a connection failure."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "the name does not resolve"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return "its certificate is not valid"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "the connection was refused" if isinstance(exc.os_error, ConnectionRefusedError) else "cannot connect"
    if isinstance(exc, (aiohttp.ServerTimeoutError, TimeoutError)):
        return "it timed out"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "it closed the connection"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "its answer was not valid HTTP"
    return type(exc).__name__
