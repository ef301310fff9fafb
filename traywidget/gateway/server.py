"""The Gateway: listens on loopback, forwards each request to its account's provider.

    gateway = Gateway(accounts, secrets, observe=engine.observe, on_streams=engine.set_streams)
    port = await gateway.start(8787)      # on any running asyncio loop, any thread
    gateway.url_for("or-main")            # http://127.0.0.1:8787/or-main
    await gateway.kill_all()              # {"or-main": 2}: every open stream stopped
    gateway.hold(["or-main"], minutes=30) # its new requests refused (423) for 30 minutes
    gateway.resume()                      # every hold ends: the next request goes through
    await gateway.stop()                  # held streams end cleanly, then the sockets close

Everything runs on the loop that called `start`; the sinks are plain callables
called on that loop (hand them over with `call_soon_threadsafe` when the
engine lives on another one). The gateway never imports the engine.

One aiohttp application, a little over 500 lines: its routes and their guard. Each request's exchange
(proxy.py), its guard (guard.py), the streams registry (registry.py), connection limits (connections.py),
holds and spend (holding.py) and /metrics (metrics.py) are modules of their own.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from traywidget.gateway import control_api
from traywidget.gateway.connections import (
    AcceptErrors,
    BurstLog,
    ConnectionCap,
    inbound_cap,
    raise_open_file_limit,
    upstream_cap,
)
from traywidget.gateway.control_api import HOST_V4, HOST_V6
from traywidget.gateway.counts import GatewayCounts
from traywidget.gateway.guard import (
    TOKEN_HELP,
    error_response,
    origin_refusal,
    token_refusal,
)
from traywidget.gateway.holding import HoldKeeper, HoldSink, UsageBookSink
from traywidget.gateway.learning import ObservationSink
from traywidget.gateway.proxy import (
    Exchange,
    ProxyChoice,
    Target,
    request_headers,
    upstream_url,
)
from traywidget.gateway.rails import hold_message
from traywidget.gateway.registry import StreamCountSink, StreamRegistry
from traywidget.gateway.token import ensure_token, read_token
from traywidget.i18n import tr
from traywidget.model import (
    EXIT_USAGE,
    HOLD_KILL,
    Account,
    GatewayUsage,
    Hold,
    Meter,
    Rails,
    SecretStoreError,
    Snapshot,
    TrafficObservation,
    TraywidgetError,
    utcnow,
)
from traywidget.providers import get_provider
from traywidget.providers.from_traffic import held_reply
from traywidget.store.account_fields import is_loopback_host
from traywidget.store.holds import HoldBook
from traywidget.store.key_cache import KEYRING_WAIT_S, KeyCache, KeyringNotAnswering
from traywidget.store.offthread import StuckGuard
from traywidget.store.secrets import SecretStore
from traywidget.store.spend import SpendBook

log = logging.getLogger(__name__)


class _MalformedRequests(logging.Filter):
    """aiohttp logs a malformed request with its offending bytes, which may be a
    broken credential header: one line naming the fault instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.msg, record.args = "Refused a malformed request (%s)", (type(error).__name__,)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


# The web server's own log (aiohttp's "aiohttp.server" would print what a client sent).
http_log = logging.getLogger(__name__ + ".http")
http_log.addFilter(_MalformedRequests())

# Where Prometheus scrapes (its default metrics_path). Only this exact path, and only while metrics
# are on: /metrics/... (and /metrics itself when they are off) is still the address of an account "metrics".
METRICS_PATH = "/metrics"
SHUTDOWN_TIMEOUT_S = 1.0
# A connection idle this long (a new one that has not sent a whole request yet, or one between two
# requests) is closed: half-open connections cannot pile up.
IDLE_TIMEOUT_S = 15.0
BACKLOG = 128
UPSTREAM_KEEPALIVE_S = 15.0
# Connecting upstream, waiting for a free connection included.
UPSTREAM_CONNECT_S = 15.0


class GatewayError(TraywidgetError):
    """The gateway cannot start as asked; the message says what to do."""

    exit_code = EXIT_USAGE


class LatestTraffic:
    """What traffic said last, per account: each meter's latest reading and the
    state of the latest answer (None: it went through)."""

    def __init__(self) -> None:
        self._meters: dict[str, dict[str, Meter]] = {}
        self._last: dict[str, TrafficObservation] = {}

    def record(self, observation: TrafficObservation) -> None:
        meters = self._meters.setdefault(observation.account_id, {})
        for meter in observation.meters:
            meters[meter.name] = meter
        self._last[observation.account_id] = observation

    def went_through(self, account_id: str) -> bool:
        """Whether the account's latest answer was a good one."""
        last = self._last.get(account_id)
        return last is not None and last.state is None

    def observations(self) -> list[TrafficObservation]:
        return [
            TrafficObservation(account_id, last.seen_at, tuple(self._meters[account_id].values()), last.state,
                               last.error)
            for account_id, last in self._last.items()
        ]


# How a 404 for an unknown account says where the ids are (the demo's gateway names its own).
ACCOUNTS_HINT = "one of your account ids (`traywidget accounts list`)"


class Gateway:
    def __init__(
        self,
        accounts: Iterable[Account],
        secrets: SecretStore,
        *,
        observe: ObservationSink | None = None,
        on_streams: StreamCountSink | None = None,
        now: Callable[[], datetime] = utcnow,
        holds: HoldBook | None = None,
        spend: SpendBook | None = None,
        on_hold: HoldSink | None = None,
        on_usage: UsageBookSink | None = None,
        accounts_hint: str = ACCOUNTS_HINT,
        token_help: str = TOKEN_HELP,
    ) -> None:
        """`holds`/`spend`: where holds and today's usage are kept (None: this gateway neither
        holds nor counts); `on_hold`/`on_usage` hear of every change, on the gateway's loop."""
        self._keeper = HoldKeeper(holds, spend, self._rails_of, now, on_hold, on_usage)
        self._secrets = secrets
        # Where a user finds the account ids and the token (the demo's gateway names its own).
        self._accounts_hint = accounts_hint
        self._token_help = token_help
        self._observe = observe
        self._now = now
        # Every keyring call of the gateway goes through one guard: while one hangs, the others are told at once.
        self._keyring = StuckGuard(KEYRING_WAIT_S)
        self._keys = KeyCache(secrets, keyring=self._keyring)
        self._registry = StreamRegistry(on_streams)
        self._latest = LatestTraffic()
        self._proxies = ProxyChoice()
        self._counts = GatewayCounts()
        # The status document /metrics reports (present/status_document.py); None: metrics are off.
        self.metrics_document: Callable[[], Mapping[str, Any]] | None = None
        self._targets: dict[str, Target] = {}
        self.set_accounts(accounts)
        self._token: str | None = None
        self._token_reload = asyncio.Lock()  # one reload at a time; requests never take it
        self._runner: web.AppRunner | None = None
        self._listeners: list[asyncio.Server] = []
        self._accept_errors: AcceptErrors | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port: int | None = None
        # What the user should know about how it listens (one half of the port taken), from the last start.
        self.notices: list[str] = []

    # --- what the tray and the CLI use ---------------------------------------------

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def token(self) -> str | None:
        """The token tools must present (read from the keyring at start)."""
        return self._token

    def url_for(self, account_id: str) -> str:
        """The base URL a tool uses for this account."""
        if self.port is None:
            raise RuntimeError("the gateway is not running")
        return f"http://{HOST_V4}:{self.port}/{account_id}"

    def stream_counts(self) -> dict[str, int]:
        """Streams open right now, per account (0 for an account with none)."""
        return {account_id: self._registry.count(account_id) for account_id in self._targets}

    def latest_traffic(self) -> list[TrafficObservation]:
        return self._latest.observations()

    def set_accounts(self, accounts: Iterable[Account]) -> None:
        """Apply an edited account list (open streams of a removed account run on)."""
        self._targets = {a.id: Target(a, get_provider(a.provider)) for a in accounts}
        self._keys.forget()

    async def kill_all(self, accounts: Iterable[str] | None = None) -> dict[str, int]:
        """Stop every open stream at once (of these accounts only, when given); {account id: streams
        stopped}, once they ended."""
        stopped = await self._registry.stop_all(accounts=None if accounts is None else set(accounts))
        self._counts.stopped(stopped, {a: t.account.provider for a, t in self._targets.items()})
        return stopped

    def hold(self, accounts: Iterable[str] | None, minutes: float | None, reason: str = HOLD_KILL) -> dict[str, Hold]:
        """Refuse the new requests of these accounts (None: every account) for `minutes` (None:
        until resumed), from the very next request on."""
        return self._keeper.hold(list(self._targets) if accounts is None else accounts, minutes, reason)

    def resume(self, accounts: Iterable[str] | None = None) -> list[str]:
        """End the holds of these accounts (None: all); the very next request goes through."""
        return self._keeper.resume(accounts)

    def holds(self) -> dict[str, Hold]:
        """Every account held now."""
        return self._keeper.holds()

    def usage_today(self) -> dict[str, GatewayUsage]:
        """Today's traffic through the gateway, per account (empty when this gateway does not count)."""
        return self._keeper.usage_today(self._targets)

    def polled(self, snapshot: Snapshot) -> None:
        """The engine's snapshots (subscribe this on the gateway's loop): a reserve on an account whose
        traffic reports no request windows watches its polls (gateway/holding.py). A gateway turned off
        holds nothing."""
        if self.running:
            self._keeper.polled(snapshot)

    def _rails_of(self, account_id: str) -> Rails | None:
        target = self._targets.get(account_id)
        return target.account.rails if target is not None else None

    async def start(self, port: int = 0) -> int:
        """Listen on 127.0.0.1 (and ::1 where available); returns the port.

        Reads (or on first use creates) the token in the keyring: SecretStoreError if it cannot.
        GatewayError if the port is taken."""
        if self._runner is not None:
            raise RuntimeError("the gateway is already running")
        try:
            self._token = await self._keyring.call(ensure_token, self._secrets)
        except TimeoutError:
            raise GatewayError(tr("The keyring did not answer within {seconds} s; it is probably locked. Unlock it "
                                  "(log in to the desktop session, or open it in your password manager), then "
                                  "start the gateway again.").format(seconds=f"{KEYRING_WAIT_S:g}")) from None
        file_limit = raise_open_file_limit()
        burst = BurstLog()
        def make_handler() -> asyncio.Protocol:
            assert runner.server is not None  # set up before the first connection can be accepted
            return runner.server()

        connections = ConnectionCap(make_handler, inbound_cap(file_limit), burst)
        app = web.Application(middlewares=[connections.busy])
        app.router.add_get(control_api.PREFIX + "/health", self._health)
        app.router.add_get(control_api.PREFIX + "/status", self._status)
        app.router.add_post(control_api.PREFIX + "/kill", self._kill)
        app.router.add_post(control_api.PREFIX + "/reload-token", self._reload_token)
        app.router.add_post(control_api.PREFIX + "/resume", self._resume)
        # Matched as an account address too, so that with metrics off it is served as one.
        app.router.add_get(f"/{{account_id:{METRICS_PATH.lstrip('/')}}}", self._metrics, allow_head=False)
        # Every other path, "/" included, is an account's address (an unknown one gets a 404 that explains).
        app.router.add_route("*", "/{account_id:[^/]*}{tail:(/.*)?}", self._proxy)
        # keepalive_timeout: also how long a new connection may take to send its first whole request.
        runner = web.AppRunner(app, access_log=None, handle_signals=False, handler_cancellation=True,
                               shutdown_timeout=SHUTDOWN_TIMEOUT_S, logger=http_log, keepalive_timeout=IDLE_TIMEOUT_S)
        await runner.setup()
        loop = asyncio.get_running_loop()
        try:
            listener = await loop.create_server(connections, HOST_V4, port, backlog=BACKLOG)
        except OSError as exc:
            await runner.cleanup()
            if exc.errno == errno.EADDRINUSE:
                raise GatewayError(await _port_taken_message(port, self._token)) from None
            if exc.errno == errno.EACCES and 0 < port < 1024:
                raise GatewayError(tr("Port {port} is reserved for the system (ports below 1024 need administrator "
                                      "rights). Choose one from 1024 to 65535 with --port.").format(port=port)
                                   ) from None
            raise GatewayError(tr("The gateway cannot listen on port {port}: {reason}.").format(
                port=port, reason=exc.strerror or type(exc).__name__)) from None
        self._listeners = [listener]
        self.port = listener.sockets[0].getsockname()[1]
        self.notices = []
        try:
            self._listeners.append(await loop.create_server(connections, HOST_V6, self.port, backlog=BACKLOG))
        except OSError as exc:  # no IPv6 loopback here, or its port is in use: 127.0.0.1 serves
            log.info("Not listening on [::1]:%d (%s)", self.port, exc.strerror or type(exc).__name__)
            if exc.errno == errno.EADDRINUSE:
                # A tool that resolves "localhost" to ::1 would hand its token to whoever holds it.
                self.notices.append(tr(
                    "port {port} on the IPv6 loopback ([::1]) is taken by another program: a tool that "
                    "resolves localhost to ::1 would reach it, not the gateway. Give tools "
                    "http://127.0.0.1:{port}/ (as `traywidget gateway env` does), or choose another port.").format(
                    port=self.port))
        self._runner = runner
        self._accept_errors = AcceptErrors(loop, burst)
        self._session = _upstream_session(upstream_cap(file_limit))
        self._keeper.start(self._targets)
        log.info("Gateway listening on http://%s:%d", HOST_V4, self.port)
        return self.port

    async def stop(self) -> None:
        """Stop listening, end every held stream cleanly for its client, close everything."""
        runner, session = self._runner, self._session
        if runner is None:
            return
        for listener in self._listeners:
            listener.close()
        await self._registry.stop_all()
        self._keeper.stop()  # after the streams: theirs are counted too
        await runner.cleanup()
        if session is not None:
            await session.close()
        if self._accept_errors is not None:
            self._accept_errors.remove()
        self._runner, self._session, self._listeners, self.port, self._accept_errors = None, None, [], None, None

    # --- handlers ---------------------------------------------------------------------

    async def _proxy(self, request: web.Request) -> web.StreamResponse:
        refusal = origin_refusal(request.headers, request.raw_path)
        if refusal is not None:
            return refusal
        refusal, token_header = await self._authorise(request)
        if refusal is not None:
            return refusal
        account_id = request.match_info["account_id"]
        target = self._targets.get(account_id)
        if target is None:
            return self._unknown_account(account_id)
        hold = self._keeper.held(account_id)
        if hold is not None:
            status, body, headers = held_reply(target.provider, request.match_info.get("tail", ""),
                                               hold_message(account_id, hold))
            return web.Response(status=status, body=body, headers=headers)
        try:
            key = await self._keys.api_key(account_id, list(self._targets), now=time.monotonic())
        except SecretStoreError as exc:
            return error_response(503, str(exc), "keyring_unavailable", "api_error")
        if not key:
            return error_response(401, f"traywidget has no API key for account {account_id!r}: save one with "
                                  f"`traywidget keys set {account_id}`.", "no_provider_key", "authentication_error")
        url = upstream_url(target.account.base_url, _raw_tail(request), request.rel_url.raw_query_string)
        if url.scheme != "https" and not (url.scheme == "http" and is_loopback_host(url.host or "")):
            return error_response(502, f"Refusing to send the key of {account_id!r} over {url.scheme} to {url.host}: "
                                  "https is required except for loopback addresses.", "insecure_base_url", "api_error")
        assert self._session is not None and token_header is not None
        upstream_headers = request_headers(request.headers, target.provider.traffic_auth_headers(key, token_header))
        proxy = await self._proxies.proxy_for(url)
        held = self._registry.hold(account_id)
        try:
            exchange = Exchange(request, target, held, self._session, url, upstream_headers, proxy, self._learned,
                                self._now, self._keys.forget, known=(key, self._token or ""),
                                on_usage=self._keeper.usage_sink(account_id))
            response = await exchange.run()
            self._counts.answered(account_id, target.account.provider, response.status)
            return response
        finally:
            self._registry.release(held)

    async def _health(self, request: web.Request) -> web.StreamResponse:
        refusal = origin_refusal(request.headers, request.raw_path)
        if refusal is not None:
            return refusal
        payload = control_api.health_payload()
        challenge = request.query.get("challenge")
        if challenge is not None and self._token is not None and self.port is not None:
            if not control_api.valid_challenge(challenge):
                return error_response(400, "A challenge is 32 to 128 hex digits.", "invalid_challenge")
            payload["proof"] = control_api.proof(self._token, self.port, challenge)
        return web.json_response(payload)

    async def _reload_token(self, request: web.Request) -> web.StreamResponse:
        refusal = origin_refusal(request.headers, request.raw_path) or (await self._authorise(request))[0]
        if refusal is not None:
            return refusal
        try:
            return web.json_response({"changed": await self.reload_token()})
        except SecretStoreError as exc:
            return error_response(503, str(exc), "keyring_unavailable", "api_error")

    async def _status(self, request: web.Request) -> web.StreamResponse:
        refusal = origin_refusal(request.headers, request.raw_path) or (await self._authorise(request))[0]
        if refusal is not None:
            return refusal
        return web.json_response({
            "streams": self.stream_counts(),
            "observations": [control_api.observation_to_json(o) for o in self._latest.observations()],
            "holds": {account_id: hold.to_json() for account_id, hold in self.holds().items()},
            "usage": {account_id: usage.to_json() for account_id, usage in self.usage_today().items()},
        })

    async def _metrics(self, request: web.Request) -> web.StreamResponse:
        document = self.metrics_document
        if document is None:
            return await self._proxy(request)  # off: the path is an account's, as any other
        refusal = origin_refusal(request.headers) or (await self._authorise(request))[0]
        if refusal is not None:
            return refusal
        from traywidget.gateway.metrics import CONTENT_TYPE, exposition

        return web.Response(body=exposition(document, self._counts, self._now),
                            headers={"Content-Type": CONTENT_TYPE})

    async def _order(self, request: web.Request, what: str) -> control_api.KillOrder | web.Response:
        """The kill or resume order of a request from this user's tools; else the answer refusing it."""
        refusal = origin_refusal(request.headers, request.raw_path) or (await self._authorise(request))[0]
        if refusal is not None:
            return refusal
        try:
            return control_api.KillOrder.from_json(await request.json() if request.body_exists else {})
        except ValueError as exc:
            return error_response(400, f"Not a {what} order: {exc}", f"bad_{what}_order")

    async def _kill(self, request: web.Request) -> web.StreamResponse:
        order = await self._order(request, "kill")
        if isinstance(order, web.Response):
            return order
        held: dict[str, Hold] = {}
        if order.hold and self._keeper.keeps_holds:  # first: a tool's next request is refused, not forwarded
            held = self.hold(order.accounts, order.minutes)
        stopped = await self.kill_all(order.accounts)
        return web.json_response({"stopped": stopped,
                                  "held": {a: hold.held_until_json() for a, hold in held.items()}})

    async def _resume(self, request: web.Request) -> web.StreamResponse:
        order = await self._order(request, "resume")
        if isinstance(order, web.Response):
            return order
        return web.json_response({"resumed": self.resume(order.accounts)})

    # --- helpers -------------------------------------------------------------------------

    async def _authorise(self, request: web.Request) -> tuple[web.Response | None, str | None]:
        # Only the token in memory is compared: a wrong token never makes the gateway read the keyring
        # (a locked one would raise its unlock prompt, and every request would wait behind it).
        return token_refusal(request.headers, self._token, self._token_help)

    async def reload_token(self) -> bool:
        """Read the token from the keyring again (after a rotation); True if it changed.
        KeyringNotAnswering when the keyring does not answer in time (the old token then holds).
        Requests never wait on this: they compare with the token in memory until the new one is in."""
        async with self._token_reload:
            try:
                token = await self._keyring.call(read_token, self._secrets)
            except TimeoutError:
                raise KeyringNotAnswering() from None
            if token is None or token == self._token:
                return False
            self._token = token
            log.info("The gateway takes the new token from now on")
            return True

    def _unknown_account(self, account_id: str) -> web.Response:
        shown = account_id if len(account_id) <= 64 else account_id[:61] + "..."
        return error_response(
            404,
            f"No traywidget account {shown!r}. Address a request as http://{HOST_V4}:{self.port}/ACCOUNT_ID/PATH, "
            f"where ACCOUNT_ID is {self._accounts_hint} and PATH is the path under "
            "that account's base URL, e.g. /ACCOUNT_ID/chat/completions.",
            "unknown_account", "not_found_error")

    def _learned(self, observation: TrafficObservation) -> None:
        self._keeper.learned(observation)  # a reserve crossed holds the account before its next request
        if observation.state is None and not observation.meters and self._latest.went_through(observation.account_id):
            return  # another good answer that says nothing new: the engine need not hear it again
        self._latest.record(observation)
        if self._observe is not None:
            self._observe(observation)


def _raw_tail(request: web.Request) -> str:
    """The still-encoded path after /ACCOUNT_ID (so the provider sees it as the client sent it).
    Of the path alone: an absolute-form request line (`GET http://127.0.0.1:P/acct/models`) names
    the gateway's own address before it."""
    parts = request.rel_url.raw_path.split("/", 2)
    return parts[2] if len(parts) == 3 else ""


def _upstream_session(limit: int) -> aiohttp.ClientSession:
    """One client for all upstream traffic: no redirects followed (the route passes
    FOLLOW_REDIRECTS), nothing decompressed, no cookies kept between users'
    requests, no headers of its own, no read timeout (a reasoning model may think
    for minutes before its first token).

    At most `limit` connections open at once (far above a user's streams; requests
    beyond it wait for one), and an idle kept-alive one is closed after
    UPSTREAM_KEEPALIVE_S: a burst leaves no sockets behind for long.

    Not trust_env: aiohttp would then look up ~/.netrc and the proxy settings in
    a thread on every request (two thread hops, most of the time a request
    spends in the gateway); the proxy is looked up once per host instead
    (ProxyChoice), and credentials come from the keyring only."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit, keepalive_timeout=UPSTREAM_KEEPALIVE_S),
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
        timeout=aiohttp.ClientTimeout(total=None, connect=UPSTREAM_CONNECT_S, sock_read=None),
        requote_redirect_url=False,
    )


async def _port_taken_message(port: int, token: str | None) -> str:
    """Who holds the port: one of this user's gateways only if it proves it holds the token
    (anything can answer the health endpoint the way a gateway does)."""
    from traywidget.gateway.remote import proves_token, running_gateway

    health = await running_gateway(port)
    if health is not None and await proves_token(port, token):
        return tr("Port {port} is taken by another traywidget gateway (process {pid}); it already serves your "
                  "tools. Stop it first, or choose another port with --port.").format(port=port, pid=health.get("pid"))
    return tr("Port {port} is taken by another program. Choose another port with --port "
              "(or gateway_port in the config file).").format(port=port)
