"""Who may use the gateway, and the gateway's own refusals.

Loopback only: a request carrying an `Origin` header (a web page must not
spend the user's quota through it) or naming a host that is not a loopback
name (DNS rebinding) is refused before anything else is looked at. Then the
gateway token, presented the way a tool presents a key. Every refusal is an
OpenAI-shaped error JSON (what the user's SDK knows how to show) and is never
forwarded. These bodies are an API's answers to programs, so they stay English
like the provider's own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aiohttp import web
from multidict import MultiMapping

from traywidget.gateway.token import token_matches
from traywidget.store.account_fields import is_loopback_host

# Headers a tool may present the gateway token in (lowercase), as it would a key.
CREDENTIAL_HEADERS = ("authorization", "x-api-key")

TOKEN_HELP = ("Send the traywidget gateway token as `Authorization: Bearer <token>` or `X-API-Key: <token>`; "
              "print it with `traywidget gateway token`.")


def error_response(status: int, message: str, code: str, error_type: str = "invalid_request_error",
                   headers: Mapping[str, str] | None = None) -> web.Response:
    """An error in OpenAI's JSON shape."""
    body = {"error": {"message": message, "type": error_type, "param": None, "code": code}}
    return web.Response(status=status, body=json.dumps(body).encode(), content_type="application/json",
                        headers=headers)


def host_name(host: str) -> str:
    """The name part of a Host header ("127.0.0.1:8787" -> "127.0.0.1", "[::1]:8787" -> "::1")."""
    host = host.strip()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def origin_refusal(headers: Mapping[str, str], target: str = "/") -> web.Response | None:
    """403 for a web page's request or a non-loopback Host; None when the caller may go on.
    `target` is the request line's target: in absolute form (`http://HOST:PORT/path`) its host is
    the one addressed (RFC 9112 3.2.2), and must be a loopback name as well."""
    if "Origin" in headers:
        return error_response(403, "Refused: the traywidget gateway does not answer requests from web pages "
                              "(requests with an Origin header).", "origin_refused", "permission_error")
    hosts = [headers.get("Host")]
    if not target.startswith("/"):
        hosts.append(_target_host(target))
    if any(host is not None and not is_loopback_host(host_name(host)) for host in hosts):
        return error_response(403, "Refused: the traywidget gateway answers only requests addressed to a loopback "
                              "name (127.0.0.1, localhost or [::1]).", "host_refused", "permission_error")
    return None


def _target_host(target: str) -> str:
    """The host:port of an absolute-form target ("" when it names none: refused as not loopback)."""
    scheme, sep, rest = target.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return ""
    return rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]


def presented_tokens(headers: MultiMapping[str]) -> list[tuple[str, str]]:
    """Every (token, header) a tool presented, as it would present a key."""
    found = []
    for name in CREDENTIAL_HEADERS:
        for value in headers.getall(name, ()):
            value = value.strip()
            if name == "authorization":
                scheme, _, value = value.partition(" ")
                if scheme.lower() != "bearer":
                    continue
                value = value.strip()
            if value:
                found.append((value, name))
    return found


def token_refusal(headers: MultiMapping[str], token: str | None,
                  token_help: str = TOKEN_HELP) -> tuple[web.Response | None, str | None]:
    """(401 refusal or None, the header the right token came in).

    A tool that sends two credential headers (Claude Code may send both) is
    let in when one of them holds the token."""
    presented = presented_tokens(headers)
    if not presented:
        return error_response(401, "No traywidget gateway token. " + token_help, "missing_gateway_token",
                              "authentication_error"), None
    # Every candidate is compared, so the time taken does not say which one matched.
    matches = [header for value, header in presented if token_matches(value, token)]
    if not matches:
        return error_response(401, "Wrong traywidget gateway token. " + token_help, "invalid_gateway_token",
                              "authentication_error"), None
    return None, matches[0]
