"""What `watch --format waybar|line` prints: the tray's glance, for a status bar.

Both formats show the meter the tray badge shows (the headline), mark trouble
on any account, and are printed again only when they change. Waybar reads one
JSON object per line ({"text", "tooltip", "class", "percentage"}) and renders
text and tooltip as Pango markup, so both are escaped; i3blocks, polybar and
tmux read one plain line.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable
from datetime import datetime

from traywidget.cli.output import (
    account_heading,
    meter_amount,
    meter_phrase,
    problem_text,
    state_text,
)
from traywidget.i18n import tr, tr_noop
from traywidget.model import (
    FREE_REQUESTS_DAY,
    REQUESTS_DAY,
    REQUESTS_HOUR,
    REQUESTS_MINUTE,
    Meter,
    Snapshot,
    State,
)
from traywidget.ui.text import badge_text, binding_meter

# Classes a bar's style sheet can colour (documented in README).
OK = "ok"
WARNING = "warning"  # a window running low, a 429, a passing failure (offline, a server error)
CRITICAL = "critical"  # nothing goes through until the user acts or the window resets
UNKNOWN = "unknown"  # no figures yet

# The window kind after the compact number, so "345/h" says what it counts.
_WINDOW_CUE = {
    REQUESTS_MINUTE: tr_noop("/min"),
    REQUESTS_HOUR: tr_noop("/h"),
    REQUESTS_DAY: tr_noop("/d"),
    FREE_REQUESTS_DAY: tr_noop("/d"),
}


def bar_class(snapshots: Iterable[Snapshot]) -> str:
    """The worst of every account: critical (key, payment, an exhausted window), warning, ok."""
    states = [snap.state for snap in snapshots]
    if not states:
        return UNKNOWN
    if any(state.needs_user or state is State.EXHAUSTED for state in states):
        return CRITICAL
    if any(not state.is_fine or state is State.LOW for state in states):
        return WARNING
    return OK


def _troubled(snapshots: Iterable[Snapshot]) -> list[Snapshot]:
    return [snap for snap in snapshots if not snap.state.is_fine]


def compact_text(meter: Meter | None) -> str:
    if meter is None:
        return "–"
    cue = _WINDOW_CUE.get(meter.name)
    return badge_text(meter) + (tr(cue) if cue else "")


def percentage(meter: Meter | None) -> int | None:
    """The headline's share left, rounded down (998 of 1,000 is 99, never 100)."""
    fraction = meter.fraction_left if meter is not None else None
    return None if fraction is None else math.floor(fraction * 100 + 1e-9)


def tooltip(snapshots: list[Snapshot], headline: tuple[Snapshot, Meter] | None, now: datetime) -> str:
    """The headline first, then every account with its figures (reset times as clock times:
    a tooltip is printed again only on a change, so a countdown would go stale)."""
    lines = []
    if headline is not None:
        snap, meter = headline
        lines.append(tr("Shown: {account} — {amount}").format(account=snap.label, amount=meter_amount(meter)))
    for snap in snapshots:
        lines.append(account_heading(snap))
        problem = problem_text(snap)
        if problem:
            lines.append("  " + problem)
        lines.extend("  " + meter_phrase(meter, now, clock_times=True) for meter in snap.meters)
    return "\n".join(lines)


def waybar_line(snapshots: list[Snapshot], pinned: str | None, now: datetime) -> str:
    """One line of Waybar's custom-module JSON."""
    headline = binding_meter(snapshots, pinned)
    meter = headline[1] if headline else None
    text = compact_text(meter)
    if _troubled(snapshots):
        text += " !"
    data: dict[str, object] = {
        "text": html.escape(text, quote=False),
        "tooltip": html.escape(tooltip(snapshots, headline, now), quote=False),
        "class": bar_class(snapshots),
    }
    share = percentage(meter)
    if share is not None:
        data["percentage"] = share
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def plain_line(snapshots: list[Snapshot], pinned: str | None) -> str:
    """"Main: 345 requests left this hour (of 500) · Routeway: Key rejected"."""
    headline = binding_meter(snapshots, pinned)
    parts = []
    if headline is not None:
        snap, meter = headline
        parts.append(tr("{account}: {amount}").format(account=snap.label, amount=meter_amount(meter)))
    for snap in _troubled(snapshots):
        parts.append(tr("{account}: {state}").format(account=snap.label, state=state_text(snap)))
    return " · ".join(parts) or tr("no figures yet")
