"""The seam between the engine (HTTP, scheduling) and each provider (translation).

A provider module never does I/O and never schedules anything. It says which
requests to send for a poll, and turns each response into meters or a
ProviderError. The engine owns the one httpx client, the timers and backoff.

For the local gateway a provider also says how its auth header looks, which
of its rate-limit header windows become which meters, and how its own error
bodies and SSE error events look (so a stream stopped from traywidget ends in
a form the user's tool understands). providers/from_traffic.py reads traffic with
these; the gateway never needs to know a provider by name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import ClassVar

from traywidget.model import ErrorInfo, HttpResult, Meter, ProviderError, State
from traywidget.providers.firewall import firewall_block

# The refusals in a user's own traffic that say something about the account
# itself; a 400 or a 5xx says something about one request.
# EXHAUSTED: a refusal that says a window is used up (LiteLLM's budget_exceeded), with the meter that shows it.
TRAFFIC_STATES = frozenset({State.RATE_LIMITED, State.PAYMENT_REQUIRED, State.AUTH_ERROR, State.BLOCKED,
                            State.EXHAUSTED})


class Credential(Enum):
    """Which secret a request is signed with."""

    API = "api"
    MANAGEMENT = "management"


@dataclass(frozen=True)
class RequestSpec:
    """One HTTP request of a poll; `path` is relative to the account's base URL."""

    name: str
    path: str
    method: str = "GET"
    # The path is relative to the base URL without a trailing /v1 (LiteLLM's key/info lives at the root).
    from_root: bool = False
    credential: Credential = Credential.API
    # An optional request's failure becomes a note; a required one's failure
    # becomes the account's state.
    optional: bool = False


@dataclass(frozen=True)
class KeyHint:
    """The visible ends of an API key, for matching a provider's masked listing.

    Holds no more of the key than a provider's own dashboard shows.
    """

    prefix: str
    suffix: str

    @classmethod
    def of(cls, key: str) -> KeyHint:
        return cls(prefix=key[:8], suffix=key[-4:])

    def __repr__(self) -> str:  # never print even the partial key
        return "KeyHint(<hidden>)"


@dataclass(frozen=True)
class PollContext:
    now: datetime
    has_management_key: bool = False
    key_hint: KeyHint | None = None
    # A response to the user's own traffic through the gateway has been seen
    # (a provider with no usage endpoint then has numbers to show).
    seen_traffic: bool = False
    # The account's base URL: some facts follow the host (Moonshot's currency, Groq's windows).
    base_url: str = ""


@dataclass(frozen=True)
class Reading:
    """What one successful response says; the engine merges a poll's readings."""

    meters: tuple[Meter, ...] = ()
    plan: str | None = None
    notes: tuple[str, ...] = ()
    # A response can be 200 yet say a limit is hit (rate-limit headers at 0).
    rate_limited: ErrorInfo | None = None
    # A response can be 200 yet say nothing is paid for (DeepSeek's is_available false, a balance at 0).
    payment_required: ErrorInfo | None = None


class Provider:
    """Base for provider adapters. Subclasses set the class attributes and
    implement `poll_requests`, `parse` and `error_for`."""

    id: ClassVar[str]
    display_name: ClassVar[str]
    default_base_url: ClassVar[str]
    # The provider's own API hosts (a documented mirror counts: same keys, same paths); a base URL
    # elsewhere would send the key to someone else. Empty: any host (OpenAI-compatible).
    known_hosts: ClassVar[tuple[str, ...]] = ()
    # What the account editor says under the management-key field (tr_noop text), if it takes one.
    management_key_hint: ClassVar[str | None] = None
    supports_kill: ClassVar[bool] = False
    # Requests per poll must never include Origin/Referer (routing.run refuses them).
    extra_headers: ClassVar[Mapping[str, str]] = {}
    # Rate-limit header windows (providers/headers.py names) that become meters
    # when they arrive on the user's own traffic: window name -> meter name.
    traffic_windows: ClassVar[Mapping[str, str]] = {}
    # Serves Anthropic-style `messages` under its base URL (Anthropic SDKs, Claude Code).
    serves_messages: ClassVar[bool] = False

    def auth_headers(self, secret: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}"}

    def traffic_auth_headers(self, secret: str, client_header: str) -> dict[str, str]:
        """The auth header for a request the gateway forwards. `client_header` is the
        header (lowercase) the user's tool presented its gateway token in."""
        return self.auth_headers(secret)

    def traffic_meter_names(self, limit_kind: str | None, base_url: str = "") -> Mapping[str, str]:
        """`traffic_windows`, for a response whose error names `limit_kind` (or None), from the
        account at `base_url`."""
        return self.traffic_windows

    def traffic_money_meters(self, result: HttpResult, ctx: PollContext) -> tuple[Meter, ...]:
        """Money meters a response to the user's traffic carries (LiteLLM's key spend in its headers,
        its budget_exceeded refusal's figures); none by default. `result.body` is a refusal's (start of) body."""
        return ()

    def refusal(self, spec: RequestSpec, result: HttpResult, ctx: PollContext) -> ProviderError:
        """What a non-2xx response means: a firewall's block in front of the provider (never "key
        rejected"), else the provider's own answer (`error_for`). Every refusal is read here."""
        return firewall_block(result) or self.error_for(spec, result, ctx)

    def traffic_error(self, spec: RequestSpec, result: HttpResult, ctx: PollContext) -> ProviderError | None:
        """What a refusal of the user's own request says about the account: a
        ProviderError in one of TRAFFIC_STATES, or None when it says nothing
        about the account (a bad request, a server error)."""
        if result.ok:
            return None
        error = self.refusal(spec, result, ctx)
        return error if error.state in TRAFFIC_STATES else None

    def error_reply(self, status: int, message: str, code: str) -> tuple[bytes, dict[str, str]]:
        """(body, headers) of an error response in this provider's own form."""
        body = {"error": {"message": message, "type": code, "param": None, "code": code}}
        return json.dumps(body).encode(), {"Content-Type": "application/json"}

    def stream_error_event(self, message: str, code: str) -> bytes:
        """One SSE event carrying an error in this provider's streaming form, then its end."""
        body = {"error": {"message": message, "type": code, "param": None, "code": code}}
        return sse_data(body) + DONE_EVENT

    def poll_requests(self, full: bool, ctx: PollContext) -> list[RequestSpec]:
        raise NotImplementedError

    def notes(self, ctx: PollContext) -> tuple[str, ...]:
        """Standing remarks for the account (e.g. what cannot be known without a management key)."""
        return ()

    def parse(self, spec: RequestSpec, result: HttpResult, ctx: PollContext) -> Reading:
        """Translate a 2xx response; raise ProviderError (see decoding.malformed) on a bad body."""
        raise NotImplementedError

    def error_for(self, spec: RequestSpec, result: HttpResult, ctx: PollContext) -> ProviderError:
        """Translate a non-2xx response into a state and the provider's message."""
        raise NotImplementedError

    def kill_request(self) -> RequestSpec | None:
        return None

    def parse_kill(self, result: HttpResult) -> int:
        raise NotImplementedError


DONE_EVENT = b"data: [DONE]\n\n"


def sse_data(payload: object) -> bytes:
    """One `data:` event of an OpenAI-style stream."""
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def request_base(base_url: str, spec: RequestSpec) -> str:
    """The base URL `spec.path` is relative to: the account's, or its root for a `from_root` request."""
    base = base_url.rstrip("/")
    if spec.from_root and base.endswith("/v1"):
        return base[: -len("/v1")]
    return base
