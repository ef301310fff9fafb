"""Pace: how fast a window is being used, and when it runs out at that pace. No Qt.

An estimate from the local usage history (store/history.py): the use since the
window's last refill, over at most the last few hours, extrapolated in a
straight line. It is only made when the history covers long enough to mean
something, and every view marks it as an estimate.

`estimate()` is pure (samples in, a Pace out); `PaceWatch` turns estimates
into "will run out before it resets" alerts, at most once per window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from traywidget.i18n import tr
from traywidget.model import (
    FREE_REQUESTS_DAY,
    REQUESTS_DAY,
    REQUESTS_HOUR,
    REQUESTS_MINUTE,
    Meter,
    Snapshot,
)
from traywidget.present.alerts import Alert
from traywidget.present.formatting import format_duration, meter_title

# (account_id, meter name, since unix ts) -> [(unix ts, remaining)] oldest first: HistoryStore.series.
HistorySource = Callable[[str, str, float], Sequence[tuple[float, float]]]

# Alert kind (a stable string, like the kinds in present/alerts.py).
PACE = "pace"

# The samples must cover at least this long, and hold at least this many
# points, before a straight line through them says anything.
MIN_SPAN_S = 15 * 60.0
MIN_SAMPLES = 3
# The pace of the last few hours, not of the whole day: what the user does now.
LOOKBACK_S = 3 * 3600.0
# Windows whose start is known from their reset time.
WINDOW_LENGTH_S = {REQUESTS_HOUR: 3600.0, REQUESTS_DAY: 86400.0, FREE_REQUESTS_DAY: 86400.0}
# A per-minute window refills before anyone could act on a forecast.
NO_PACE = frozenset({REQUESTS_MINUTE})
# Two reset times this close are the same window (some providers send the
# reset as "seconds from now", which wobbles from poll to poll).
SAME_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class Pace:
    """A straight-line forecast for one meter."""

    per_hour: float  # units of the meter used per hour, at the recent pace
    runs_out_at: datetime | None  # None: nothing was used over the sampled stretch
    resets_at: datetime | None
    span_s: float  # how long a stretch of history the pace was measured over

    @property
    def runs_out_before_reset(self) -> bool:
        return self.runs_out_at is not None and self.resets_at is not None and self.runs_out_at < self.resets_at


def estimate(samples: Sequence[tuple[float, float]], meter: Meter, now: datetime) -> Pace | None:
    """The pace of `meter` read at `now`, from history samples [(unix ts, remaining)].

    None when there is nothing to forecast (no known remaining, already at
    zero, a per-minute window) or when the history since the window's last
    refill is too short.
    """
    remaining = meter.remaining
    if not forecastable(meter) or remaining is None:
        return None
    now_ts = now.timestamp()
    start = history_since(meter, now)
    points = [(ts, value) for ts, value in samples if start <= ts < now_ts]
    points.append((now_ts, remaining))
    # Only the stretch since the last refill: more left than a moment before
    # means the window reset (or the account was topped up).
    for index in range(len(points) - 1, 0, -1):
        if points[index][1] > points[index - 1][1]:
            points = points[index:]
            break
    span = points[-1][0] - points[0][0]
    if len(points) < MIN_SAMPLES or span < MIN_SPAN_S:
        return None
    per_second = (points[0][1] - points[-1][1]) / span
    runs_out_at = now + timedelta(seconds=remaining / per_second) if per_second > 0 else None
    return Pace(per_hour=per_second * 3600.0, runs_out_at=runs_out_at, resets_at=meter.resets_at, span_s=span)


def clock_text(moment: datetime, now: datetime) -> str:
    """"15:40" today, "tomorrow 09:10", else "2025-06-03 15:40" (local time)."""
    local, today = moment.astimezone(), now.astimezone()
    time_text = local.strftime("%H:%M")
    days = (local.date() - today.date()).days
    if days == 0:
        return time_text
    if days == 1:
        return tr("tomorrow {time}").format(time=time_text)
    return f"{local.strftime('%Y-%m-%d')} {time_text}"


def pace_text(pace: Pace, now: datetime) -> str | None:
    """The one forecast phrase every view shows ("at this pace you run out at 15:40 (resets 16:00)").

    None when there is nothing to warn about: nothing used lately, or it lasts until the window resets.
    """
    if pace.runs_out_at is None:
        return None
    runs_out = clock_text(pace.runs_out_at, now)
    if pace.resets_at is None:
        return tr("at this pace you run out at {time}").format(time=runs_out)
    if not pace.runs_out_before_reset:
        return None
    resets = clock_text(pace.resets_at, now)
    return tr("at this pace you run out at {time} (resets {reset})").format(time=runs_out, reset=resets)


def basis_text(pace: Pace) -> str:
    """Where the estimate comes from, for a tooltip or an alert body."""
    return tr("An estimate from your use over the last {span}.").format(span=format_duration(pace.span_s))


def forecastable(meter: Meter) -> bool:
    """A meter a forecast can be made for: something left to run out of, in a window longer than a minute."""
    return meter.name not in NO_PACE and meter.remaining is not None and meter.remaining > 0


def history_since(meter: Meter, now: datetime) -> float:
    """The oldest sample `estimate()` can use: what to ask the history for."""
    start = now.timestamp() - LOOKBACK_S
    length = WINDOW_LENGTH_S.get(meter.name)
    if length is not None and meter.resets_at is not None:
        start = max(start, meter.resets_at.timestamp() - length)
    return start


def estimate_from(history: HistorySource, snapshot: Snapshot, meter: Meter, now: datetime) -> Pace | None:
    """`estimate()` for one meter of a snapshot, reading its samples from `history`."""
    if not forecastable(meter):
        return None
    samples = history(snapshot.account_id, meter.name, history_since(meter, now))
    return estimate(samples, meter, now)


class PaceWatch:
    """Says "will run out before it resets" once per window of each meter, when asked to."""

    def __init__(self, history: HistorySource | None, enabled: bool = False) -> None:
        self.history = history
        self.enabled = enabled
        self._warned: dict[tuple[str, str], datetime] = {}  # -> resets_at of the window warned about

    def forget(self, account_id: str) -> None:
        self._warned = {key: value for key, value in self._warned.items() if key[0] != account_id}

    def update(self, snapshot: Snapshot, now: datetime) -> list[Alert]:
        if not self.enabled or self.history is None or snapshot.stale or not snapshot.state.is_quota_reading:
            return []
        read_at = snapshot.fetched_at or now
        alerts = []
        for meter in snapshot.meters:
            if meter.resets_at is None:
                continue
            key = (snapshot.account_id, meter.name)
            warned = self._warned.get(key)
            if warned is not None and abs(meter.resets_at - warned) <= SAME_WINDOW:
                continue
            pace = estimate_from(self.history, snapshot, meter, read_at)
            if pace is None or not pace.runs_out_before_reset:
                continue
            self._warned[key] = meter.resets_at
            title = tr("{label}: will run out before it resets").format(label=snapshot.label)
            body = tr("{meter}: {forecast}. {basis}").format(
                meter=meter_title(meter), forecast=pace_text(pace, read_at), basis=basis_text(pace))
            alerts.append(Alert(PACE, snapshot.account_id, title, body, meter.name))
        return alerts
