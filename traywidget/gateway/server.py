"""The Gateway: listens on loopback, forwards each request to its account's provider.

    gateway = Gateway(accounts, secrets, observe=engine.observe, on_streams=engine.set_streams)
    port = await gateway.start(8787)      # on any running asyncio loop, any thread
    gateway.url_for("or-main")            # http://127.0.0.1:8787/or-main
    await gateway.kill_all()              # {"or-main": 2}: every held stream stopped
    await gateway.stop()                  # held streams end cleanly, then the sockets close

Everything runs on the loop that called `start`; the sinks are plain callables
called on that loop (hand them over with `call_soon_threadsafe` when the
engine lives on another one). The gateway never imports the engine.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import time
from datetime import datetime
from typing import Callable, Iterable

import aiohttp
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from traywidget.core.config import is_loopback_host
from traywidget.core.secrets import SecretStore
from traywidget.gateway import control
from traywidget.gateway.control import HOST_V4, HOST_V6, TOKEN_REREAD_S
from traywidget.gateway.guard import (
    TOKEN_HELP,
    error_response,
    origin_refusal,
    presented_tokens,
    token_refusal,
)
from traywidget.gateway.keys import KeyCache
from traywidget.gateway.learning import ObservationSink
from traywidget.gateway.proxy import (
    Exchange,
    ProxyChoice,
    Target,
    request_headers,
    upstream_url,
)
from traywidget.gateway.registry import StreamCountSink, StreamRegistry
from traywidget.gateway.token import ensure_token, read_token
from traywidget.i18n import tr
from traywidget.model import (
    EXIT_USAGE,
    Account,
    Meter,
    SecretStoreError,
    TrafficObservation,
    TraywidgetError,
    utcnow,
)
from traywidget.providers import get_provider

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

SHUTDOWN_TIMEOUT_S = 1.0
PROBE_TIMEOUT_S = 1.0


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
        accounts_hint: str = ACCOUNTS_HINT,
        token_help: str = TOKEN_HELP,
    ) -> None:
        self._secrets = secrets
        # Where a user finds the account ids and the token (the demo's gateway names its own).
        self._accounts_hint = accounts_hint
        self._token_help = token_help
        self._observe = observe
        self._now = now
        self._keys = KeyCache(secrets)
        self._registry = StreamRegistry(on_streams)
        self._latest = LatestTraffic()
        self._proxies = ProxyChoice()
        self._targets: dict[str, Target] = {}
        self.set_accounts(accounts)
        self._token: str | None = None
        self._token_read_at = 0.0
        self._token_lock = asyncio.Lock()
        self._runner: web.AppRunner | None = None
        self._sites: list[web.TCPSite] = []
        self._session: aiohttp.ClientSession | None = None
        self.port: int | None = None

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

    async def kill_all(self) -> dict[str, int]:
        """Stop every held stream at once; {account id: streams stopped}, once they ended."""
        return await self._registry.stop_all()

    async def start(self, port: int = 0) -> int:
        """Listen on 127.0.0.1 (and ::1 where available); returns the port.

        Reads (or on first use creates) the token in the keyring: SecretStoreError if it cannot.
        GatewayError if the port is taken."""
        if self._runner is not None:
            raise RuntimeError("the gateway is already running")
        self._token = await asyncio.to_thread(ensure_token, self._secrets)
        self._token_read_at = time.monotonic()
        app = web.Application()
        app.router.add_get(control.PREFIX + "/health", self._health)
        app.router.add_get(control.PREFIX + "/status", self._status)
        app.router.add_post(control.PREFIX + "/kill", self._kill)
        # Every other path, "/" included, is an account's address (an unknown one gets a 404 that explains).
        app.router.add_route("*", "/{account_id:[^/]*}{tail:(/.*)?}", self._proxy)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, handler_cancellation=True,
                               shutdown_timeout=SHUTDOWN_TIMEOUT_S, logger=http_log)
        await runner.setup()
        try:
            site = web.TCPSite(runner, HOST_V4, port)
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            if exc.errno == errno.EADDRINUSE:
                raise GatewayError(await _port_taken_message(port)) from None
            if exc.errno == errno.EACCES and 0 < port < 1024:
                raise GatewayError(tr("Port {port} is reserved for the system (ports below 1024 need administrator "
                                      "rights). Choose one from 1024 to 65535 with --port.").format(port=port)) from None
            raise GatewayError(tr("The gateway cannot listen on port {port}: {reason}.").format(
                port=port, reason=exc.strerror or type(exc).__name__)) from None
        self._sites = [site]
        self.port = runner.addresses[0][1]
        try:
            site6 = web.TCPSite(runner, HOST_V6, self.port)
            await site6.start()
            self._sites.append(site6)
        except OSError as exc:  # no IPv6 loopback here, or its port is in use: 127.0.0.1 serves
            log.info("Not listening on [::1]:%d (%s)", self.port, exc.strerror or type(exc).__name__)
        self._runner = runner
        self._session = _upstream_session()
        log.info("Gateway listening on http://%s:%d", HOST_V4, self.port)
        return self.port

    async def stop(self) -> None:
        """Stop listening, end every held stream cleanly for its client, close everything."""
        runner, session = self._runner, self._session
        if runner is None:
            return
        for site in self._sites:
            await site.stop()
        await self._registry.stop_all()
        await runner.cleanup()
        if session is not None:
            await session.close()
        self._runner, self._session, self._sites, self.port = None, None, [], None

    # --- handlers ---------------------------------------------------------------------

    async def _proxy(self, request: web.Request) -> web.StreamResponse:
        refusal = origin_refusal(request.headers)
        if refusal is not None:
            return refusal
        refusal, token_header = await self._authorise(request)
        if refusal is not None:
            return refusal
        account_id = request.match_info["account_id"]
        target = self._targets.get(account_id)
        if target is None:
            return self._unknown_account(account_id)
        try:
            key = await self._keys.get(account_id)
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
        headers = request_headers(request.headers, target.provider.traffic_auth_headers(key, token_header))
        proxy = await self._proxies.proxy_for(url)
        held = self._registry.hold(account_id)
        try:
            exchange = Exchange(request, target, held, self._session, url, headers, proxy, self._learned, self._now,
                                self._keys.forget)
            return await exchange.run()
        finally:
            self._registry.release(held)

    async def _health(self, request: web.Request) -> web.StreamResponse:
        refusal = origin_refusal(request.headers)
        return refusal or web.json_response(control.health_payload())

    async def _status(self, request: web.Request) -> web.StreamResponse:
        refusal = origin_refusal(request.headers) or (await self._authorise(request))[0]
        if refusal is not None:
            return refusal
        return web.json_response({
            "streams": self.stream_counts(),
            "observations": [control.observation_to_json(o) for o in self._latest.observations()],
        })

    async def _kill(self, request: web.Request) -> web.StreamResponse:
        refusal = origin_refusal(request.headers) or (await self._authorise(request))[0]
        if refusal is not None:
            return refusal
        return web.json_response({"stopped": await self.kill_all()})

    # --- helpers -------------------------------------------------------------------------

    async def _authorise(self, request: web.Request) -> tuple[web.Response | None, str | None]:
        refusal, header = token_refusal(request.headers, self._token, self._token_help)
        if refusal is not None and presented_tokens(request.headers) and await self._reread_token():
            refusal, header = token_refusal(request.headers, self._token, self._token_help)
        return refusal, header

    async def _reread_token(self) -> bool:
        """Read the token again (it may have been rotated); True if it changed."""
        async with self._token_lock:
            if time.monotonic() - self._token_read_at < TOKEN_REREAD_S:
                return False
            self._token_read_at = time.monotonic()
            try:
                token = await asyncio.to_thread(read_token, self._secrets)
            except SecretStoreError as exc:
                log.warning("Cannot read the gateway token again: %s", exc)
                return False
            if token is None or token == self._token:
                return False
            self._token = token
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
        if observation.state is None and not observation.meters and self._latest.went_through(observation.account_id):
            return  # another good answer that says nothing new: the engine need not hear it again
        self._latest.record(observation)
        if self._observe is not None:
            self._observe(observation)


def _raw_tail(request: web.Request) -> str:
    """The still-encoded path after /ACCOUNT_ID (so the provider sees it as the client sent it)."""
    parts = request.raw_path.split("?", 1)[0].split("/", 2)
    return parts[2] if len(parts) == 3 else ""


def _upstream_session() -> aiohttp.ClientSession:
    """One client for all upstream traffic: no redirects followed (the route sets
    allow_redirects=False), nothing decompressed, no cookies kept between users'
    requests, no headers of its own, no limit on open streams, no read timeout
    (a reasoning model may think for minutes before its first token).

    Not trust_env: aiohttp would then look up ~/.netrc and the proxy settings in
    a thread on every request (two thread hops, most of the time a request
    spends in the gateway); the proxy is looked up once per host instead
    (ProxyChoice), and credentials come from the keyring only."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=60.0),
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
        timeout=aiohttp.ClientTimeout(total=None, connect=15.0, sock_read=None),
        requote_redirect_url=False,
    )


async def _port_taken_message(port: int) -> str:
    """Who holds the port, if it says (another traywidget gateway answers its health endpoint)."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S)) as session:
            async with session.get(f"http://{HOST_V4}:{port}{control.PREFIX}/health") as reply:
                data = json.loads(await reply.read())
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
        data = None
    if isinstance(data, dict) and data.get("service") == control.SERVICE:
        return tr("Port {port} is taken by another traywidget gateway (process {pid}); it already serves your "
                  "tools. Stop it first, or choose another port with --port.").format(port=port, pid=data.get("pid"))
    return tr("Port {port} is taken by another program. Choose another port with --port "
              "(or gateway_port in the config file).").format(port=port)
