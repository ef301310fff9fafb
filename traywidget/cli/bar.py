"""What `watch --format waybar|line|short` prints: the tray's glance, for a status bar.

Both show the meter the tray badge shows, chosen by the badge's own rule and
held the same way (present.headline.HeadlinePolicy), mark trouble on any
account, and are printed again only when they change. Waybar reads one JSON
object per line ({"text", "tooltip", "class", "percentage"}) and renders text
and tooltip as Pango markup, so both are escaped; the tooltip is the tray's
tooltip. i3blocks, polybar and tmux read one plain line.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from datetime import datetime

from traywidget.i18n import tr
from traywidget.model import Meter, Snapshot
from traywidget.present.formatting import left_text
from traywidget.present.headline import Headline, window_cue
from traywidget.present.severity import Severity, severity_of, worst
from traywidget.present.text import badge_text, status_text, tooltip_text

UNKNOWN = "unknown"  # Waybar's class before any account has figures; otherwise a severity's word


def bar_class(snapshots: Iterable[Snapshot]) -> str:
    """The worst account's severity (present/severity.py: fine, low, failing, refused, action), or unknown."""
    level = worst(snapshots)
    return UNKNOWN if level is None else level.word


def _troubled(snapshots: Iterable[Snapshot]) -> list[Snapshot]:
    """The accounts a glance names beside the headline: from `failing` on."""
    return [snap for snap in snapshots if severity_of(snap) >= Severity.FAILING]


def compact_text(meter: Meter | None) -> str:
    """The badge's number and its window letter: "380/h" (left this hour), "1.2K/d", "$4.2"."""
    if meter is None:
        return "–"
    cue = window_cue(meter)
    return badge_text(meter) + (f"/{cue}" if cue else "")


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
    share = meter.percent_left if meter is not None else None
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
