"""When each account polls next: the scheduling rules, as pure functions.

No asyncio, no HTTP and no clock of its own. Every function takes the times
it needs ("now" on the monotonic clock for timers, the wall clock for a
provider's reset times) and, where jitter is involved, a random source, and
returns a new `AccountSchedule`. The engine keeps one per account and asks
three questions: when is it due (`due_at`), is that poll a full one
(`next_poll_is_full`), and when is the one after (`after_poll`).

The rules:
- each account has a fast cadence (a small endpoint, where the provider has
  one) and a full cadence (everything), from the user's settings or the
  account's own override (`for_account`);
- while answers do not change, both slow down: x2 after every
  `quiet_polls_per_step` unchanged polls, up to `quiet_max_factor`;
- a window near exhaustion (at most `near_fraction` left) is polled every
  `near_s`;
- a poll follows a known (not rolling) window reset, `reset_grace_s` after it;
- nothing is sent before a server-given Retry-After has passed, whether it
  came on a required request, an optional one or the user's own traffic
  (`hold_off`); a user's refresh moves the timers, never past it;
- repeated errors back off exponentially with "equal jitter" (between half
  and all of the nominal delay); with a Retry-After, the later of the two;
- an account without a key is looked at again after `no_key_recheck_s`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from traywidget.model import Meter, State
from traywidget.store.key_cache import KEY_REREAD_S


@dataclass(frozen=True)
class Cadence:
    """Every scheduling constant in one place (seconds)."""

    fast_s: float = 60.0
    full_s: float = 300.0
    # After this many unchanged polls in a row the interval doubles, up to the max factor.
    quiet_polls_per_step: int = 3
    quiet_max_factor: float = 4.0
    # A window with at most this fraction left is polled at `near_s`.
    near_fraction: float = 0.10
    near_s: float = 20.0
    # Poll this long after a known reset, so the provider has rolled over.
    reset_grace_s: float = 2.0
    backoff_base_s: float = 15.0
    backoff_max_s: float = 900.0
    # A Retry-After beyond this is treated as this (a broken header must not silence an account forever).
    retry_after_cap_s: float = 86400.0
    # How long to wait before re-reading the keyring for an account with no key.
    no_key_recheck_s: float = 300.0
    # Keys read from the keyring are reused this long (and re-read at once
    # after an auth error, or when the account is edited).
    key_reread_s: float = KEY_REREAD_S


class Jitter(Protocol):
    """What the schedule needs of a random source (random.Random fits)."""

    def uniform(self, a: float, b: float) -> float: ...


@dataclass(frozen=True)
class AccountSchedule:
    """Where one account stands (monotonic seconds). The zero schedule is due at once."""

    next_fast: float = 0.0
    next_full: float = 0.0
    # Nothing is sent before this: a server's Retry-After.
    not_before: float = 0.0
    error_streak: int = 0
    quiet_streak: int = 0


def for_account(cadence: Cadence, fast_interval_s: float | None, full_interval_s: float | None) -> Cadence:
    """The cadence with an account's own intervals (None: the user's setting)."""
    return replace(cadence, fast_s=fast_interval_s or cadence.fast_s, full_s=full_interval_s or cadence.full_s)


def due_at(schedule: AccountSchedule) -> float:
    """When the next poll may go out: the nearer timer, but never before a Retry-After."""
    return max(min(schedule.next_fast, schedule.next_full), schedule.not_before)


def next_poll_is_full(schedule: AccountSchedule, now: float) -> bool:
    return now >= schedule.next_full


def poll_now(schedule: AccountSchedule, now: float) -> AccountSchedule:
    """A user's refresh, a resume from sleep, a network change: a full poll at once (Retry-After still holds)."""
    return replace(schedule, next_fast=now, next_full=now)


def poll_fast_now(schedule: AccountSchedule, now: float) -> AccountSchedule:
    """Counters just changed (streams were stopped): a fast poll at once (Retry-After still holds)."""
    return replace(schedule, next_fast=now)


def retry_after_wait(cadence: Cadence, retry_after_s: float) -> float:
    return max(0.0, min(retry_after_s, cadence.retry_after_cap_s))


def hold_off(schedule: AccountSchedule, cadence: Cadence, retry_after_s: float, now: float) -> AccountSchedule:
    """A Retry-After for the whole account (same provider, same key), however it arrived."""
    until = now + retry_after_wait(cadence, retry_after_s)
    return replace(schedule, not_before=max(schedule.not_before, until))


def backoff_delay(cadence: Cadence, error_streak: int, rng: Jitter) -> float:
    """The wait after the `error_streak`-th error in a row: base doubling to max, with equal jitter."""
    nominal = min(cadence.backoff_max_s, cadence.backoff_base_s * 2 ** (error_streak - 1))
    return nominal / 2 + rng.uniform(0, nominal / 2)


def quiet_factor(cadence: Cadence, quiet_streak: int) -> float:
    return min(cadence.quiet_max_factor, 2.0 ** (quiet_streak // cadence.quiet_polls_per_step))


def near_exhaustion(meters: Iterable[Meter], near_fraction: float) -> bool:
    """A capped window with a little (not nothing) left, whose reset is known."""
    return any(
        (f := m.fraction_left) is not None and 0 < f <= near_fraction and not m.approximate_reset for m in meters
    )


def after_poll(
    schedule: AccountSchedule,
    cadence: Cadence,
    *,
    state: State,
    retry_after_s: float | None,
    meters: Iterable[Meter],
    changed: bool,
    full: bool,
    now: float,
    wall_now: datetime,
    rng: Jitter,
) -> AccountSchedule:
    """The schedule after a poll that ended in `state` (cadence: `for_account`'s)."""
    if state is State.NO_KEY:
        return after_no_key(schedule, cadence, now)
    if state.is_poll_failure:
        return after_error(schedule, cadence, retry_after_s=retry_after_s, now=now, rng=rng)
    return after_success(schedule, cadence, full=full, changed=changed, meters=meters, now=now, wall_now=wall_now)


def after_no_key(schedule: AccountSchedule, cadence: Cadence, now: float) -> AccountSchedule:
    at = now + cadence.no_key_recheck_s
    return replace(schedule, next_fast=at, next_full=at)


def after_error(
    schedule: AccountSchedule, cadence: Cadence, *, retry_after_s: float | None, now: float, rng: Jitter
) -> AccountSchedule:
    streak = schedule.error_streak + 1
    delay = backoff_delay(cadence, streak, rng)
    if retry_after_s is not None:
        schedule = hold_off(schedule, cadence, retry_after_s, now)
        # The later of the two: a short Retry-After on every answer must not
        # hide a growing error streak.
        delay = max(delay, retry_after_wait(cadence, retry_after_s))
    return replace(schedule, next_fast=now + delay, next_full=now + delay, error_streak=streak, quiet_streak=0)


def after_success(
    schedule: AccountSchedule,
    cadence: Cadence,
    *,
    full: bool,
    changed: bool,
    meters: Iterable[Meter],
    now: float,
    wall_now: datetime,
) -> AccountSchedule:
    meters = tuple(meters)
    quiet = 0 if changed else schedule.quiet_streak + 1
    factor = quiet_factor(cadence, quiet)
    fast = cadence.fast_s * factor
    full_interval = cadence.full_s * factor
    if near_exhaustion(meters, cadence.near_fraction):
        fast = min(fast, cadence.near_s)
    # Rolling windows have no fixed reset to chase.
    for meter in meters:
        if meter.resets_at is None or meter.approximate_reset:
            continue
        until = (meter.resets_at - wall_now).total_seconds() + cadence.reset_grace_s
        if 0 < until < fast:
            fast = until
        if 0 < until < full_interval:
            full_interval = until
    # After a full poll the next one is a full interval away; after a fast
    # one, a nearer reset may still pull the next full poll forward.
    next_full = now + full_interval if full else min(schedule.next_full, now + full_interval)
    return replace(schedule, next_fast=now + fast, next_full=next_full, error_streak=0, quiet_streak=quiet)


def requests_budget_per_hour(cadence: Cadence = Cadence()) -> float:
    """Worst-case usage-endpoint requests per account per hour at this cadence
    while nothing is near exhaustion and nothing fails (documented in README)."""
    return 3600.0 / cadence.fast_s + 3600.0 / cadence.full_s
