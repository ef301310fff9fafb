"""Account states and the questions every view asks of them, answered once.

The engine, the alert policy, the CLI's exit code, the badge, the menu, the
panel and the settings dialog all ask the same few questions of a state ("is
this a quota reading?", "must the user act?", "is it a passing failure?").
They ask them here, so they cannot disagree.
"""

from __future__ import annotations

from enum import StrEnum

# Value sets (strings: a StrEnum's members cannot be referenced in its own body).
_QUOTA_READING = frozenset({"ok", "low", "exhausted"})
_NEEDS_USER = frozenset({"auth_error", "payment_required", "no_key"})
_TRANSIENT = frozenset({"offline", "error"})


class State(StrEnum):
    """Per-account state, ordered roughly from good to bad for display."""

    OK = "ok"
    LOW = "low"
    EXHAUSTED = "exhausted"
    RATE_LIMITED = "rate_limited"
    AUTH_ERROR = "auth_error"
    PAYMENT_REQUIRED = "payment_required"
    NO_KEY = "no_key"
    OFFLINE = "offline"
    ERROR = "error"

    @property
    def is_quota_reading(self) -> bool:
        """The provider answered with usage: the meters are current (ok, low, exhausted)."""
        return self.value in _QUOTA_READING

    @property
    def is_fine(self) -> bool:
        """Requests go through and nothing needs saying beyond the numbers (ok, low)."""
        return self is State.OK or self is State.LOW

    @property
    def needs_user(self) -> bool:
        """Nothing changes until the user acts: a rejected key, a payment, a missing key."""
        return self.value in _NEEDS_USER

    @property
    def is_transient(self) -> bool:
        """A passing failure (offline, a server error): it says nothing about the quota."""
        return self.value in _TRANSIENT

    @property
    def key_accepted(self) -> bool:
        """The provider accepted the key (a 429 is an answer to a valid key)."""
        return self.is_quota_reading or self is State.RATE_LIMITED

    @property
    def is_poll_failure(self) -> bool:
        """A poll was sent and did not give a quota reading: the next one backs off."""
        return not self.is_quota_reading and self is not State.NO_KEY


class Unit(StrEnum):
    REQUESTS = "requests"
    TOKENS = "tokens"
    USD = "usd"


class Source(StrEnum):
    """Where a meter's numbers came from."""

    POLL = "poll"  # a usage endpoint answered a poll
    TRAFFIC = "traffic"  # rate-limit headers on a response to the user's own request, through the gateway


class Freshness(StrEnum):
    """Whether a meter's numbers describe its window now (present/freshness.py decides, at a time)."""

    CURRENT = "current"  # as read, and its window has not reset since
    REFILLED = "refilled"  # its window reset after the reading: an estimate of a full window until the next reading
    EXPIRED = "expired"  # it reset after the reading and a refill cannot be assumed: the amount is unknown
