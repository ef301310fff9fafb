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
# A CDN/WAF in front of the provider refused the request before the provider saw it:
# it says nothing about the key or the quota, and it lasts until the client changes.
_BLOCKED = frozenset({"blocked"})


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
    # Blocked by the provider's firewall (Cloudflare 1010, a challenge page): not "key rejected".
    BLOCKED = "blocked"

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
    def is_blocked(self) -> bool:
        """A firewall in front of the provider refused this client; the key was never judged."""
        return self.value in _BLOCKED

    @property
    def key_accepted(self) -> bool:
        """The provider accepted the key (a 429 is an answer to a valid key)."""
        return self.is_quota_reading or self is State.RATE_LIMITED

    @property
    def is_poll_failure(self) -> bool:
        """A poll was sent and did not give a quota reading: the next one backs off."""
        return not self.is_quota_reading and self is not State.NO_KEY


class Unit(StrEnum):
    """What a meter counts. Money is an ISO 4217 currency, lower case in JSON ("usd", "cny")."""

    REQUESTS = "requests"
    TOKENS = "tokens"
    # A share of a window used, as 0-100 (Anthropic's subscription windows report only that).
    PERCENT = "percent"
    USD = "usd"
    CNY = "cny"
    EUR = "eur"
    GBP = "gbp"
    JPY = "jpy"
    HKD = "hkd"

    @property
    def is_money(self) -> bool:
        return self.value in _CURRENCIES

    @property
    def currency(self) -> str | None:
        """"USD", "CNY": the ISO code of a money unit; None for a count."""
        return self.value.upper() if self.is_money else None

    @classmethod
    def for_currency(cls, code: object) -> Unit | None:
        """The money unit of an ISO code as providers send it ("CNY", "usd"), or None when unknown."""
        if not isinstance(code, str):
            return None
        unit = cls._value2member_map_.get(code.strip().lower())
        return unit if isinstance(unit, Unit) and unit.is_money else None


_CURRENCIES = frozenset({"usd", "cny", "eur", "gbp", "jpy", "hkd"})


class Source(StrEnum):
    """Where a meter's numbers came from."""

    POLL = "poll"  # a usage endpoint answered a poll
    TRAFFIC = "traffic"  # rate-limit headers on a response to the user's own request, through the gateway


class Freshness(StrEnum):
    """Whether a meter's numbers describe its window now (present/freshness.py decides, at a time)."""

    CURRENT = "current"  # as read, and its window has not reset since
    REFILLED = "refilled"  # its window reset after the reading: an estimate of a full window until the next reading
    EXPIRED = "expired"  # it reset after the reading and a refill cannot be assumed: the amount is unknown
