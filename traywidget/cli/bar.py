"""What `watch --format waybar|line|short` prints: the tray's glance, for a status bar.

Both show the meter the tray badge shows, chosen by the badge's own rule and
held the same way (core.headline.HeadlinePolicy), mark trouble on any
account, and are printed again only when they change. Waybar reads one JSON
object per line ({"text", "tooltip", "class", "percentage"}) and renders text
and tooltip as Pango markup, so both are escaped; the tooltip is the tray's
tooltip. i3blocks, polybar and tmux read one plain line.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable
from datetime import datetime

from traywidget.core.formatting import left_text
from traywidget.core.headline import Headline, window_cue
from traywidget.i18n import tr
from traywidget.model import Meter, Snapshot, State
from traywidget.ui.text import badge_text, status_text, tooltip_text

# Classes a bar's style sheet can colour (documented in README).
OK = "ok"
WARNING = "warning"  # a window running low, a 429, a passing failure (offline, a server error)
CRITICAL = "critical"  # nothing goes through until the user acts or the window resets
UNKNOWN = "unknown"  # no figures yet


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
    """The badge's number and its window letter: "380/h" (left this hour), "1.2K/d", "$4.2"."""
    if meter is None:
        return "–"
    cue = window_cue(meter)
    return badge_text(meter) + (f"/{cue}" if cue else "")


def percentage(meter: Meter | None) -> int | None:
    """The headline's share left, rounded down (998 of 1,000 is 99, never 100)."""
    fraction = meter.fraction_left if meter is not None else None
    return None if fraction is None else math.floor(fraction * 100 + 1e-9)


def short_line(snapshots: list[Snapshot], headline: Headline | None) -> str:
    """The badge's figure and window, " !" when any account is in trouble: "380/h", "1.2K/d !" (tmux, polybar)."""
    text = compact_text(headline.meter if headline else None)
    return text + " !" if _troubled(snapshots) else text


def waybar_line(snapshots: list[Snapshot], headline: Headline | None, now: datetime) -> str:
    """One line of Waybar's custom-module JSON."""
    meter = headline.meter if headline else None
    text = short_line(snapshots, headline)
    data: dict[str, object] = {
        "text": html.escape(text, quote=False),
        "tooltip": html.escape(tooltip_text(snapshots, headline, now), quote=False),
        "class": bar_class(snapshots),
    }
    share = percentage(meter)
    if share is not None:
        data["percentage"] = share
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def plain_line(snapshots: list[Snapshot], headline: Headline | None) -> str:
    """"Main: 380 requests left this hour · Work: Key rejected: Invalid API key"."""
    parts = []
    if headline is not None:
        parts.append(tr("{account}: {figure}").format(account=headline.snapshot.label,
                                                      figure=left_text(headline.meter)))
    for snap in _troubled(snapshots):
        parts.append(tr("{account}: {status}").format(account=snap.label, status=status_text(snap)))
    return " · ".join(parts) or tr("no usage figures yet")
