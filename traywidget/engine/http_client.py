"""The one HTTP layer: a shared httpx.AsyncClient and a bounded fetch.

Every provider request goes through `fetch`, which
- never follows a redirect (a key must not travel to another host),
- refuses plain http except to loopback hosts,
- never sends Origin or Referer (routing.run refuses user/* requests with them),
- bounds the whole exchange in time and the body in size (a slow drip or a
  huge body cannot stall or bloat the app),
- turns every transport failure into a ProviderError with a plain message
  (offline, refused, timed out, reset) that names the host but never a header.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from urllib.parse import urlsplit

import httpx

from traywidget import __version__
from traywidget.engine.pool import ShardedTransport
from traywidget.i18n import Phrase, tr_noop
from traywidget.model import ErrorInfo, HttpResult, ProviderError, State
from traywidget.store.account_fields import is_loopback_host

USER_AGENT = f"traywidget/{__version__} (+https://github.com/traywidget/traywidget)"
MAX_BODY_BYTES = 1_000_000
DEFAULT_TIMEOUT_S = 15.0
# A redirect is never followed, by this client or by the gateway's: a key sent to a provider must not
# travel on to whatever host the answer names.
FOLLOW_REDIRECTS = False

_OFFLINE_ERRNOS = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN}


def make_client(max_connections: int = 100) -> httpx.AsyncClient:
    """The app's single client: keep-alive, no redirects, no cookies kept between hosts."""
    # Kept alive longer than the slowest quiet cadence (4 x 60 s), so an idle
    # account reuses its connection instead of reconnecting (and, over https,
    # shaking hands again) every poll; as many as may be open, so a refresh of
    # many accounts finds its connections again next time.
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections,
                          keepalive_expiry=300)
    return httpx.AsyncClient(
        follow_redirects=FOLLOW_REDIRECTS,
        timeout=httpx.Timeout(DEFAULT_TIMEOUT_S, connect=8.0),
        # One TLS context for every shard: loading the CA bundle costs ~35 ms each time.
        transport=ShardedTransport(limits, verify=httpx.create_ssl_context()),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        trust_env=True,
    )


def join_url(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def check_transport_safe(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and parts.hostname and is_loopback_host(parts.hostname):
        return
    raise ProviderError(
        State.ERROR,
        ErrorInfo(
            message=Phrase("Refusing to send a key over {scheme} to {host}: "
                           "https is required except for loopback addresses.",
                           scheme=parts.scheme or Phrase("an unknown scheme"), host=parts.hostname),
            code="INSECURE_URL",
        ),
    )


async def fetch(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    headers: dict[str, str],
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> HttpResult:
    """Send one request and read the whole (bounded) response."""
    check_transport_safe(url)
    host = urlsplit(url).hostname or "?"
    try:
        async with asyncio.timeout(timeout_s):
            async with client.stream(method, url, headers=headers) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > MAX_BODY_BYTES:
                        raise _error(Phrase("{host} sent more than {size} kB; response ignored", host=host,
                                            size=MAX_BODY_BYTES // 1000), "TOO_LARGE")
                result = HttpResult(status=response.status_code, headers=dict(response.headers), body=bytes(body))
    except ProviderError:
        raise
    except TimeoutError:
        raise _error(Phrase("{host} did not answer within {seconds:g} s", host=host, seconds=timeout_s),
                     "TIMEOUT") from None
    except httpx.TimeoutException:
        raise _error(Phrase("{host} did not answer in time", host=host), "TIMEOUT") from None
    except httpx.ConnectError as exc:
        raise _connect_error(host, exc) from None
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        raise _error(Phrase("Connection to {host} broke off ({kind})", host=host, kind=_kind(exc)),
                     "CONNECTION_LOST") from None
    except httpx.HTTPError as exc:
        raise _error(Phrase("Request to {host} failed ({kind})", host=host, kind=_kind(exc)), "HTTP_ERROR") from None
    if 300 <= result.status < 400:
        target = urlsplit(result.header("location") or "").hostname or Phrase("another address")
        raise ProviderError(
            State.ERROR,
            ErrorInfo(
                message=Phrase("{host} redirected to {target}; not followed, so the key stays with its own host. "
                               "Check the base URL.", host=host, target=target),
                http_status=result.status,
                code="REDIRECT_REFUSED",
            ),
        )
    return result


def _kind(exc: BaseException) -> str:
    return type(exc).__name__


CANNOT_RESOLVE = tr_noop("Offline: cannot resolve {host}")
UNREACHABLE = tr_noop("Offline: network unreachable for {host}")
REFUSED = tr_noop("{host} refused the connection")


def _error(message: str, code: str, state: State = State.ERROR) -> ProviderError:
    return ProviderError(state, ErrorInfo(message=message, code=code))


def _connect_error(host: str, exc: httpx.ConnectError) -> ProviderError:
    """Tell "the network is gone" (offline) from "this server refused" (error)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return _error(Phrase(CANNOT_RESOLVE, host=host), "OFFLINE", State.OFFLINE)
        if isinstance(cause, OSError) and cause.errno in _OFFLINE_ERRNOS:
            return _error(Phrase(UNREACHABLE, host=host), "OFFLINE", State.OFFLINE)
        if isinstance(cause, ConnectionRefusedError) or (
                isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED):
            return _error(Phrase(REFUSED, host=host), "CONNECTION_REFUSED")
        cause = cause.__cause__ or cause.__context__
    text = str(exc).lower()
    if ("name or service not known" in text or "temporary failure in name resolution" in text
            or "nodename nor servname" in text):
        return _error(Phrase(CANNOT_RESOLVE, host=host), "OFFLINE", State.OFFLINE)
    if "network is unreachable" in text:
        return _error(Phrase(UNREACHABLE, host=host), "OFFLINE", State.OFFLINE)
    if "refused" in text:
        return _error(Phrase(REFUSED, host=host), "CONNECTION_REFUSED")
    return _error(Phrase("Cannot connect to {host} ({kind})", host=host, kind=_kind(exc)), "CONNECT_ERROR")
