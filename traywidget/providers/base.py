"""The seam between the engine (HTTP, scheduling) and each provider (translation).

A provider module never does I/O and never schedules anything. It says which
requests to send for a poll, and turns each response into meters or a
ProviderError. The engine owns the one httpx client, the timers and backoff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import ClassVar, Mapping

from traywidget.model import ErrorInfo, HttpResult, Meter, ProviderError


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


@dataclass(frozen=True)
class Reading:
    """What one successful response says; the engine merges a poll's readings."""

    meters: tuple[Meter, ...] = ()
    plan: str | None = None
    notes: tuple[str, ...] = ()
    # A response can be 200 yet say a limit is hit (rate-limit headers at 0).
    rate_limited: ErrorInfo | None = None


class Provider:
    """Base for provider adapters. Subclasses set the class attributes and
    implement `poll_requests`, `parse` and `error_for`."""

    id: ClassVar[str]
    display_name: ClassVar[str]
    default_base_url: ClassVar[str]
    supports_kill: ClassVar[bool] = False
    # Requests per poll must never include Origin/Referer (routing.run refuses them).
    extra_headers: ClassVar[Mapping[str, str]] = {}

    def auth_headers(self, secret: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}"}

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
