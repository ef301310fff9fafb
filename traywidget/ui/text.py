"""Words and numbers the views show. No Qt here, so it is tested without a display.

One place for: compact badge numbers, meter lines for the menu / tooltip /
panel, reset countdowns, state names, and which meter binds.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Iterable

from traywidget.core.formatting import format_amount, format_duration, reset_phrase
from traywidget.model import Meter, Snapshot, State, Thresholds, Unit
from traywidget.providers import display_name

STATE_TEXT = {
    State.OK: "OK",
    State.LOW: "Running low",
    State.EXHAUSTED: "Exhausted",
    State.RATE_LIMITED: "Rate limited (429)",
    State.AUTH_ERROR: "Key rejected",
    State.PAYMENT_REQUIRED: "Payment required",
    State.NO_KEY: "No API key",
    State.OFFLINE: "Offline",
    State.ERROR: "Error",
}



def _floor(value: float, digits: int) -> float:
    scale = 10**digits
    return math.floor(value * scale + 1e-9) / scale


def format_count(value: float | None) -> str:
    """Compact request count for the badge: 999, 1.2k, 15k, 999k, 1.2M, ? for unknown.

    Rounds down: the badge must never promise more than is left.
    """
    if value is None or not math.isfinite(value):
        return "?"
    if value < 0:
        return "0"
    if value < 1000:
        return str(int(math.floor(value)))
    for divisor, suffix in ((1e3, "k"), (1e6, "M"), (1e9, "G")):
        scaled = value / divisor
        if scaled < 10:
            text = f"{_floor(scaled, 1):.1f}".rstrip("0").rstrip(".")
            return text + suffix
        if scaled < 1000:
            return f"{int(math.floor(scaled))}{suffix}"
    return "1T+"


def format_money(value: float | None) -> str:
    """Compact money for the badge, at most 4 characters where possible: $.42 $4.2 $12 $123 1.2k."""
    if value is None or not math.isfinite(value):
        return "?"
    if value < 0:
        return "-$" + format_count(-value) if value <= -1 else "$0"
    if value == 0:
        return "$0"
    if value < 1:
        cents = int(math.floor(value * 100 + 1e-9))
        return f"$.{cents:02d}"
    if value < 10:
        tenths = _floor(value, 1)
        return f"${int(tenths)}" if tenths.is_integer() else f"${tenths:.1f}"
    if value < 1000:
        return f"${int(math.floor(value))}"
    return format_count(value)


def badge_text(meter: Meter | None) -> str:
    if meter is None:
        return "?"
    if meter.unit is Unit.USD:
        return format_money(meter.remaining)
    return format_count(meter.remaining)


def meter_value_text(meter: Meter) -> str:
    """"420 / 500", "≈ 40 / 50", "$4.20 / $10.00", "120 used · no cap", "$3.10"."""
    approx = "≈ " if meter.estimated else ""
    if meter.capped:
        return f"{approx}{format_amount(meter.remaining, meter.unit)} / {format_amount(meter.limit, meter.unit)}"
    if meter.unit is Unit.USD and meter.remaining is not None:
        return f"{approx}{format_amount(meter.remaining, meter.unit)}"
    if meter.used is not None:
        return f"{approx}{format_amount(meter.used, meter.unit)} used · no cap"
    if meter.remaining is not None:
        return f"{approx}{format_amount(meter.remaining, meter.unit)} left · no cap"
    return "no cap" if meter.limit is None else "unknown"


def meter_line(meter: Meter, now: datetime) -> str:
    """"Requests this hour: 420 / 500 · resets in 23 min"."""
    parts = [f"{meter.title}: {meter_value_text(meter)}"]
    countdown = reset_phrase(meter.resets_at, now, meter.approximate_reset)
    if countdown:
        parts.append(countdown)
    return " · ".join(parts)


def age_text(snapshot: Snapshot, now: datetime) -> str:
    if snapshot.fetched_at is None:
        return "not fetched yet" if not snapshot.stale else "cached · stale"
    seconds = max(0.0, (now - snapshot.fetched_at).total_seconds())
    ago = "just now" if seconds < 2 else f"{format_duration(seconds)} ago"
    return f"cached {ago} · stale" if snapshot.stale else f"fetched {ago}"


def error_text(snapshot: Snapshot) -> str | None:
    if snapshot.error is None or not snapshot.error.message:
        return None
    status = f" ({snapshot.error.http_status})" if snapshot.error.http_status else ""
    return f"{snapshot.error.message.splitlines()[0][:160]}{status}"


def account_header(snapshot: Snapshot) -> str:
    provider = display_name(snapshot.provider)
    plan = f" · {snapshot.plan}" if snapshot.plan else ""
    state = STATE_TEXT.get(snapshot.state, snapshot.state.value)
    stale = " (stale)" if snapshot.stale else ""
    return f"{snapshot.label} — {provider}{plan} · {state}{stale}"


def menu_header(snapshot: Snapshot) -> str:
    """"Work key · routing.run Premium — OK": provider / plan only when the label does not say them."""
    provider = display_name(snapshot.provider)
    extra = [x for x in (provider, snapshot.plan) if x and x.lower() not in snapshot.label.lower()]
    state = STATE_TEXT.get(snapshot.state, snapshot.state.value)
    stale = " · stale" if snapshot.stale else ""
    head = snapshot.label + (f" · {' '.join(extra)}" if extra else "")
    return f"{head} — {state}{stale}"


def latest_fetch_text(snapshots: Iterable[Snapshot], now: datetime) -> str | None:
    times = [s.fetched_at for s in snapshots if s.fetched_at is not None and not s.stale]
    if not times:
        return None
    seconds = max(0.0, (now - max(times)).total_seconds())
    return "Updated just now" if seconds < 2 else f"Updated {format_duration(seconds)} ago"


def tooltip_text(snapshots: Iterable[Snapshot], now: datetime, app_name: str = "Traywidget") -> str:
    lines = [app_name]
    any_ = False
    for snapshot in snapshots:
        any_ = True
        lines.append(account_header(snapshot))
        for meter in snapshot.meters:
            lines.append("  " + meter_line(meter, now))
        err = error_text(snapshot)
        if err and not snapshot.state.is_fine:
            lines.append("  " + err)
    if not any_:
        lines.append("No data yet")
    return "\n".join(lines)


# ------------------------------------------------------------ binding meter
def parse_pinned(pinned: str | None) -> tuple[str, str] | None:
    if not pinned or "/" not in pinned:
        return None
    account_id, _, meter = pinned.rpartition("/")
    return account_id, meter


def binding_meter(
    snapshots: Iterable[Snapshot], pinned: str | None = None
) -> tuple[Snapshot, Meter] | None:
    """The meter the badge shows.

    The pinned "account_id/meter" when it exists; otherwise, among capped
    meters with a known remaining, the lowest fraction left (the one that
    runs out first); otherwise the first meter with a known value (an
    uncapped balance); otherwise None.
    """
    snapshots = list(snapshots)
    pin = parse_pinned(pinned)
    if pin:
        for snapshot in snapshots:
            if snapshot.account_id == pin[0]:
                meter = snapshot.meter(pin[1])
                if meter is not None:
                    return snapshot, meter
    best: tuple[tuple[float, int, int], Snapshot, Meter] | None = None
    for order, snapshot in enumerate(snapshots):
        for m_order, meter in enumerate(snapshot.meters):
            fraction = meter.fraction_left
            if fraction is None:
                continue
            key = (fraction, order, m_order)
            if best is None or key < best[0]:
                best = (key, snapshot, meter)
    if best is not None:
        return best[1], best[2]
    for snapshot in snapshots:
        for meter in snapshot.meters:
            if meter.remaining is not None:
                return snapshot, meter
    return None


# ------------------------------------------------------------------ levels
OK, LOW, EXHAUSTED, STALE, ERROR, NONE = "ok", "low", "exhausted", "stale", "error", "none"


def meter_level(meter: Meter, thresholds: Thresholds = Thresholds()) -> str:
    if meter.remaining is None:
        return NONE
    if meter.remaining <= 0:
        return EXHAUSTED
    fraction = meter.fraction_left
    if fraction is not None and fraction <= thresholds.low:
        return LOW
    return OK
