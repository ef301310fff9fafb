"""Which meter the badge headlines: the one that will actually stop the user, held steadily.

    policy = HeadlinePolicy()
    headline = policy.choose(snapshots, pinned="main/requests_hour")   # Headline | None

The rules, in order:
1. The user's pinned meter ("account_id/meter_name") wins whenever it exists.
2. A per-minute window refills before the user can act on it: it never
   headlines unless it is at 0 right now or is the only meter there is.
3. Accounts whose numbers are current (not cached, key accepted) come before
   accounts whose numbers are old (offline, key rejected, cached at start-up).
4. Capped windows come before uncapped money; an empty balance counts as a
   window at 0 (it stops paid requests).
5. The least left relative to its limit wins; windows within TIE_BAND of each
   other count as equal, and then the one that resets latest wins (it stops the
   user longest). A window at 0 beats every window with something left.
6. Hysteresis: the meter on the badge stays there until another one is clearly
   more binding (SWITCH_MARGIN less left, or at 0 while it is not, or a better
   tier), so the badge does not flip between accounts or windows on every poll.

Pure: no Qt, no I/O, no clock. The CLI's status-bar formats can ask it too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from traywidget.model import (
    FREE_REQUESTS_DAY,
    REQUESTS_DAY,
    REQUESTS_HOUR,
    REQUESTS_MINUTE,
    Meter,
    Snapshot,
    round_down,
)

# Fractions left within this band of each other are "as binding": the later reset wins.
TIE_BAND = 0.05
# How much less left (as a fraction of its limit) a meter needs to take the badge over.
SWITCH_MARGIN = 0.10


def refills_within_a_minute(meter: Meter) -> bool:
    """A window that refills before a person could act on a warning about it."""
    return meter.name == REQUESTS_MINUTE


def parse_pin(pinned: str | None) -> tuple[str, str] | None:
    """("account_id", "meter_name") from "account_id/meter_name"; the id may itself hold a slash."""
    if not pinned or "/" not in pinned:
        return None
    account_id, _, meter = pinned.rpartition("/")
    return (account_id, meter) if account_id and meter else None


@dataclass(frozen=True)
class Headline:
    snapshot: Snapshot
    meter: Meter
    pinned: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.snapshot.account_id, self.meter.name)


def _is_current(snapshot: Snapshot) -> bool:
    return not snapshot.stale and snapshot.state.key_accepted


def _fraction(meter: Meter) -> float | None:
    """Left relative to the limit; an empty balance is 0; None for uncapped amounts."""
    if meter.remaining is None:
        return None
    if meter.remaining <= 0:
        return 0.0
    return meter.fraction_left


@dataclass(frozen=True)
class _Candidate:
    headline: Headline
    tier: int  # 0: current numbers, 1: old numbers
    fraction: float | None
    order: tuple[int, int]  # accounts-list order, then meter order

    @property
    def empty(self) -> bool:
        return self.fraction == 0.0

    def rank(self) -> tuple:
        """Lower is more binding."""
        meter = self.headline.meter
        if self.fraction is None:
            return (self.tier, 1, 0, 0.0, self.order)
        band = -1 if self.empty else int(round_down(self.fraction / TIE_BAND))
        # No reset (a credit cap, a balance) is the latest reset of all.
        resets = -math.inf if meter.resets_at is None else meter.resets_at.timestamp()
        return (self.tier, 0, band, -resets, self.order)


def _candidates(snapshots: list[Snapshot]) -> list[_Candidate]:
    known = [
        (a, m, snapshot, meter)
        for a, snapshot in enumerate(snapshots)
        for m, meter in enumerate(snapshot.meters)
        if meter.remaining is not None
    ]
    only_minute = all(refills_within_a_minute(meter) for *_, meter in known)
    out = []
    for a, m, snapshot, meter in known:
        if refills_within_a_minute(meter) and not only_minute and (meter.remaining or 0) > 0:
            continue
        out.append(_Candidate(Headline(snapshot, meter), 0 if _is_current(snapshot) else 1, _fraction(meter), (a, m)))
    return out


def _pinned(snapshots: Iterable[Snapshot], pinned: str | None) -> Headline | None:
    pin = parse_pin(pinned)
    if pin is None:
        return None
    for snapshot in snapshots:
        if snapshot.account_id == pin[0]:
            meter = snapshot.meter(pin[1])
            if meter is not None:
                return Headline(snapshot, meter, pinned=True)
    return None


def pick_headline(snapshots: Iterable[Snapshot], pinned: str | None = None) -> Headline | None:
    """The most binding meter right now, without hysteresis (one account's card, a one-off status)."""
    snapshots = list(snapshots)
    chosen = _pinned(snapshots, pinned)
    if chosen is not None:
        return chosen
    candidates = _candidates(snapshots)
    return min(candidates, key=_Candidate.rank).headline if candidates else None


def _clearly_ahead(challenger: _Candidate, holder: _Candidate) -> bool:
    if challenger.tier != holder.tier:
        return challenger.tier < holder.tier
    if challenger.empty != holder.empty:
        return challenger.empty
    if (challenger.fraction is None) != (holder.fraction is None):
        return challenger.fraction is not None
    if challenger.fraction is None or holder.fraction is None:
        return False
    return challenger.fraction <= holder.fraction - SWITCH_MARGIN + 1e-9


class HeadlinePolicy:
    """pick_headline with memory: the badge stays on its meter until another is clearly more binding."""

    def __init__(self) -> None:
        self.current: tuple[str, str] | None = None

    def choose(self, snapshots: Iterable[Snapshot], pinned: str | None = None) -> Headline | None:
        snapshots = list(snapshots)
        chosen = _pinned(snapshots, pinned)
        if chosen is not None:
            self.current = chosen.key
            return chosen
        candidates = _candidates(snapshots)
        if not candidates:
            self.current = None
            return None
        best = min(candidates, key=_Candidate.rank)
        holder = next((c for c in candidates if c.headline.key == self.current), None)
        if holder is not None and not _clearly_ahead(best, holder):
            return holder.headline
        self.current = best.headline.key
        return best.headline


def window_cue(meter: Meter) -> str:
    """The badge's one-letter cue of the window kind: m, h, d; "" where the text says it ($) or it is unknown."""
    if meter.unit.is_money:
        return ""
    return _CUES.get(meter.name, "")


_CUES = {REQUESTS_MINUTE: "m", REQUESTS_HOUR: "h", REQUESTS_DAY: "d", FREE_REQUESTS_DAY: "d"}
