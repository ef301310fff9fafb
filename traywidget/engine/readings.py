"""An account's meters, from what its polls and its traffic said (their state: present.freshness).

Meters come from two places: a poll of the usage endpoints (source POLL) and
the rate-limit headers on the user's own requests through the local gateway
(source TRAFFIC, at `seen_at`). They are merged without double counting: one
meter per name, and of two readings of the same name the newer one wins,
keeping its own source and seen_at. A reading of one name never erases a
meter of another name, whichever way it came. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from traywidget.model import Meter, Source


def merge_poll(
    previous: Iterable[Meter], polled: Iterable[Meter], *, full: bool, started_at: datetime
) -> tuple[Meter, ...]:
    """The meters after a poll that started at `started_at`.

    A full poll reports every meter polling can know: polled meters it no
    longer reports are gone, traffic meters stay. A fast poll refreshes some
    meters; the rest stay as they were. A traffic meter seen after the poll
    started is newer than the poll's reading of the same name and stays.
    """
    previous = tuple(previous)
    merged: dict[str, Meter] = {} if full else {m.name: m for m in previous}
    # Every meter says when it was read: a polled one, when the poll asked.
    polled = [meter if meter.seen_at is not None else replace(meter, seen_at=started_at) for meter in polled]
    for meter in polled:
        held = merged.get(meter.name)
        if held is None or not _newer_traffic(held, started_at):
            merged[meter.name] = meter
    if full:
        for meter in previous:
            if meter.source is not Source.TRAFFIC:
                continue
            held = merged.get(meter.name)
            if held is None or _newer_traffic(meter, started_at):
                merged[meter.name] = meter
    return tuple(merged.values())


def merge_traffic(
    previous: Iterable[Meter], traffic: Iterable[Meter], *, polled_at: datetime | None
) -> tuple[Meter, ...]:
    """The meters after an observation of the user's traffic. `polled_at` is
    when the account's polled meters were fetched (None: never)."""
    merged: dict[str, Meter] = {m.name: m for m in previous}
    for meter in traffic:
        held = merged.get(meter.name)
        held_at = None if held is None else _reading_time(held, polled_at)
        if held_at is None or (meter.seen_at is not None and meter.seen_at >= held_at):
            if (meter.resets_at is None and held is not None and held.resets_at is not None
                    and meter.seen_at is not None and held.resets_at > meter.seen_at):
                # The same window, seen again without its reset (LiteLLM's spend headers): it still
                # resets when it did, so "used up until <reset>" keeps its reset.
                meter = replace(meter, resets_at=held.resets_at, approximate_reset=held.approximate_reset)
            merged[meter.name] = meter
    return tuple(merged.values())


def _newer_traffic(meter: Meter, than: datetime) -> bool:
    return meter.source is Source.TRAFFIC and meter.seen_at is not None and meter.seen_at > than


def _reading_time(meter: Meter, polled_at: datetime | None) -> datetime | None:
    return meter.seen_at if meter.source is Source.TRAFFIC else polled_at
