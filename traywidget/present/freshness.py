"""What a reading says at a given moment: the one rule of how readings age.

    at(snapshot, now, thresholds)   -> Snapshot   the account as it stands at `now`
    next_change(snapshots, now)     -> datetime | None   when `at` would next say something else
    rate_limit_ends(snapshot)       -> datetime | None   when a 429 stops holding (None: it never said)
    read_at(snapshot, meter)        -> datetime | None   when a meter was read
    account_reading(snapshot)       -> (datetime | None, Source)   the age and origin of the account's figures

A meter is read at `seen_at` (a poll or the user's traffic, `source`). Once its
`resets_at` has passed with no newer reading it is never current again:

- a window that refills at its reset (requests or tokens per minute, hour or
  day, a token bucket, a provider's unnamed window) reads as full, marked
  Freshness.REFILLED: an estimate until the next reading;
- an amount whose refill cannot be assumed (money: credits, a balance) reads
  as unknown, marked Freshness.EXPIRED.

A rate_limited account stays so until its Retry-After has passed (counted from
when the 429 was seen, the snapshot's fetched_at), or else until the reset of
the window the 429 names or of a window it left at 0; then its state is what its
(aged) meters say. A 429 that said nothing of when keeps its state, and its
words say when it was seen ("rate limited, seen 13:14"); the next reading ends it.

The engine applies `at` to every snapshot it publishes and publishes again at
`next_change` (one timer on its loop), so the tray, `watch` and the gateway's
lines all change at the reset by themselves. Another state that ends at a known
moment (a hold on an account, say) ends here too: `at` says what it becomes and
`next_change` includes its end. Pure: no Qt, no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from traywidget.model import (
    FREE_REQUESTS_DAY,
    REQUESTS_DAY,
    REQUESTS_HOUR,
    REQUESTS_MINUTE,
    Freshness,
    Meter,
    Snapshot,
    Source,
    State,
    Thresholds,
    is_balance,
)
from traywidget.present.headline import pick_headline

# The windows a 429's `limit_kind` names (providers' words for them).
LIMIT_KIND_METERS: dict[str, tuple[str, ...]] = {
    "minute": (REQUESTS_MINUTE,),
    "hourly": (REQUESTS_HOUR,),
    "hour": (REQUESTS_HOUR,),
    "daily": (REQUESTS_DAY, FREE_REQUESTS_DAY),
    "day": (REQUESTS_DAY, FREE_REQUESTS_DAY),
}


def refills_at_reset(meter: Meter) -> bool:
    """A window of requests or tokens starts full again at its reset; money does not come back by itself."""
    return not meter.unit.is_money


def meter_at(meter: Meter, now: datetime) -> Meter:
    """The meter as it reads at `now`: itself until its reset, then refilled (an estimate) or unknown."""
    if meter.freshness is not Freshness.CURRENT or meter.resets_at is None or meter.resets_at > now:
        return meter
    if refills_at_reset(meter) and (meter.capped or meter.remaining is None):
        return replace(
            meter,
            remaining=meter.limit if meter.capped else None,
            used=None if meter.used is None else 0,
            resets_at=None,
            approximate_reset=False,
            freshness=Freshness.REFILLED,
        )
    return replace(meter, remaining=None, used=None, resets_at=None, approximate_reset=False,
                   freshness=Freshness.EXPIRED)


def rate_limit_ends(snapshot: Snapshot) -> datetime | None:
    """When a rate_limited account's 429 stops holding; None when it never said (or it is not rate limited)."""
    if snapshot.state is not State.RATE_LIMITED or snapshot.fetched_at is None:
        return None
    seen = snapshot.fetched_at
    error = snapshot.error
    if error is not None and error.retry_after_s is not None:
        return seen + timedelta(seconds=max(0.0, error.retry_after_s))
    named = LIMIT_KIND_METERS.get(error.limit_kind or "", ()) if error is not None else ()
    resets = [m.resets_at for m in snapshot.meters if m.name in named and m.resets_at is not None]
    if not resets:
        resets = [m.resets_at for m in snapshot.meters
                  if m.freshness is Freshness.CURRENT and m.resets_at is not None
                  and m.remaining is not None and m.remaining <= 0 and m.resets_at > seen]
    return min(resets, default=None)


def at(snapshot: Snapshot, now: datetime, thresholds: Thresholds = Thresholds()) -> Snapshot:
    """The account as it stands at `now` (the same object when nothing has aged)."""
    meters = tuple(meter_at(meter, now) for meter in snapshot.meters)
    aged = any(new is not old for new, old in zip(meters, snapshot.meters))
    state, error = snapshot.state, snapshot.error
    ends = rate_limit_ends(snapshot)
    if ends is not None and ends <= now:
        state, error = quota_state(meters, thresholds, now), None
    elif aged and state.is_quota_reading:
        state = quota_state(meters, thresholds, now)
    if not aged and state is snapshot.state:
        return snapshot
    return replace(snapshot, meters=meters, state=state, error=error)


def next_change(snapshots: Iterable[Snapshot], now: datetime) -> datetime | None:
    """The first moment after `now` at which `at` says something else for any of these accounts."""
    moments: list[datetime] = []
    for snapshot in snapshots:
        moments += [m.resets_at for m in snapshot.meters
                    if m.freshness is Freshness.CURRENT and m.resets_at is not None]
        ends = rate_limit_ends(snapshot)
        if ends is not None:
            moments.append(ends)
    return min((moment for moment in moments if moment > now), default=None)


def read_at(snapshot: Snapshot, meter: Meter) -> datetime | None:
    """When the meter was read. A meter that does not say (a cache written before meters did) was read
    at the snapshot's fetch, unless that fetch got no answer about the key: then when is unknown."""
    if meter.seen_at is not None:
        return meter.seen_at
    return snapshot.fetched_at if snapshot.state.key_accepted else None


def account_reading(snapshot: Snapshot) -> tuple[datetime | None, Source]:
    """When the account's figures were read, and how: those of its headline meter, else its last poll.
    The panel, the menu and `status` all say this one age."""
    headline = pick_headline([snapshot])
    if headline is None:  # no figures: when a poll last worked, if the last one did
        return (snapshot.fetched_at if snapshot.state.key_accepted else None), Source.POLL
    return read_at(snapshot, headline.meter), headline.meter.source


def quota_state(meters: Iterable[Meter], thresholds: Thresholds, now: datetime) -> State:
    """ok, low or exhausted, from the meters that still describe a current window.

    A meter whose window has reset since it was read says nothing about the
    window now (`at` shows it refilled or unknown); an
    estimated cap with an unknown remaining says nothing either. Any amount
    at 0 is exhausted (a figure of 0 is never "OK").
    """
    state = State.OK
    meters = list(meters)
    # An account holding balances in several currencies (DeepSeek) pays while any of them is above zero.
    balances = [m for m in meters if m.unit.is_money and is_balance(m.name) and m.remaining is not None]
    some_balance_left = any(m.remaining is not None and m.remaining > 0 for m in balances)
    for meter in meters:
        if meter.estimated and meter.remaining is None:
            continue
        if meter.resets_at is not None and meter.resets_at <= now:
            continue
        if meter in balances and some_balance_left:
            continue
        if meter.remaining is not None and meter.remaining <= 0:
            return State.EXHAUSTED
        fraction = meter.fraction_left
        if fraction is not None and fraction <= thresholds.low:
            state = State.LOW
    return state
