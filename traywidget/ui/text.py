"""Words and numbers the views show. No Qt here, so it is tested without a display.

One place for: compact badge numbers, the tooltip, the menu's account lines
and their details, state names, ages. Figures always say "left" or "used"
(core.formatting.left_text); the figure of an account is the same in the
tooltip, the menu and the panel, because all of them take it from its headline.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from traywidget.core.formatting import (
    format_amount,
    format_duration,
    left_text,
    meter_title,
    reset_text,
)
from traywidget.core.headline import Headline, pick_headline
from traywidget.i18n import tr, tr_noop, trn
from traywidget.i18n.numbers import decimal_text
from traywidget.model import Meter, Snapshot, State, Thresholds, Unit
from traywidget.providers import display_name

STATE_TEXT = {
    State.OK: tr_noop("OK"),
    State.LOW: tr_noop("Running low"),
    State.EXHAUSTED: tr_noop("Exhausted"),
    State.RATE_LIMITED: tr_noop("Rate limited (429)"),
    State.AUTH_ERROR: tr_noop("Key rejected"),
    State.PAYMENT_REQUIRED: tr_noop("Payment required"),
    State.NO_KEY: tr_noop("No API key"),
    State.OFFLINE: tr_noop("Offline"),
    State.ERROR: tr_noop("Error"),
}

# Short enough for one tooltip line; the panel shows the whole message.
ERROR_MAX = 300  # an error in details and the panel (the provider's message can be a page)
ERROR_IN_LINE_MAX = 60


def state_text(state: State) -> str:
    return tr(STATE_TEXT[state])


# ------------------------------------------------------------------ badge numbers
def _floor(value: float, digits: int) -> float:
    scale = 10**digits
    return math.floor(value * scale + 1e-9) / scale


def format_count(value: float | None) -> str:
    """Compact request count for the badge: 999, 1.2K, 15K, 999K, 1.2M, ? for unknown.

    Rounds down: the badge must never promise more than is left. Magnitudes are capitals (K, M, G): small
    letters are the windows (m, h, d), and "146k" read as "146 per k".
    """
    if value is None or not math.isfinite(value):
        return "?"
    if value < 0:
        return "0"
    if value < 1000:
        return str(int(math.floor(value)))
    for divisor, suffix in ((1e3, "K"), (1e6, "M"), (1e9, "G")):
        scaled = value / divisor
        if scaled < 10:
            text = f"{_floor(scaled, 1):.1f}".rstrip("0").rstrip(".")
            return text + suffix
        if scaled < 1000:
            return f"{int(math.floor(scaled))}{suffix}"
    return "1T+"


def format_money(value: float | None) -> str:
    """Compact money for the badge, at most 4 characters where possible: $.42 $4.2 $12 $123 1.2K."""
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
    """The badge's compact figure, with the language's decimal separator ("1,2K" in German)."""
    if meter is None:
        return "?"
    if meter.unit is Unit.USD:
        return decimal_text(format_money(meter.remaining))
    return decimal_text(format_count(meter.remaining))


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


# ------------------------------------------------------------------ accounts in words
def account_name(snapshot: Snapshot) -> str:
    """"Main (routing.run)"; just the label when it already names the provider ("routing.run · Premium")."""
    provider = display_name(snapshot.provider)
    if provider.lower() in snapshot.label.lower():
        return snapshot.label
    return tr("{label} ({provider})").format(label=snapshot.label, provider=provider)


def binding_meter(snapshots: Iterable[Snapshot], pinned: str | None = None) -> tuple[Snapshot, Meter] | None:
    """The meter that binds, as (snapshot, meter): the panel's headline of one account's card."""
    headline = pick_headline(snapshots, pinned)
    return None if headline is None else (headline.snapshot, headline.meter)


def streams_text(streams: int) -> str:
    return trn("{n} stream running", "{n} streams running", streams).format(n=streams)


def error_text(snapshot: Snapshot) -> str | None:
    """The provider's own message (or ours, translated), first line, with the HTTP status: "Invalid API key (401)"."""
    if snapshot.error is None or not snapshot.error.message:
        return None
    status = f" ({snapshot.error.http_status})" if snapshot.error.http_status else ""
    return f"{_clip(tr(snapshot.error.message).splitlines()[0], ERROR_MAX)}{status}"


def _short_error(snapshot: Snapshot) -> str | None:
    if snapshot.error is None or not snapshot.error.message:
        return None
    return _clip(tr(snapshot.error.message).splitlines()[0].strip(), ERROR_IN_LINE_MAX) or None


def _clip(text: str, limit: int) -> str:
    """At most `limit` characters; a shortened text says so with "…"."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def status_text(snapshot: Snapshot) -> str:
    """"OK", "Rate limited (429): Hourly request limit exceeded", "OK · cached", "… · 2 streams running"."""
    text = state_text(snapshot.state)
    short = None if snapshot.state.is_fine else _short_error(snapshot)
    if short:
        text = tr("{state}: {message}").format(state=text, message=short)
    parts = [text]
    if snapshot.stale:
        parts.append(tr("cached"))
    if snapshot.streams:
        parts.append(streams_text(snapshot.streams))
    return " · ".join(parts)


def figure_text(snapshot: Snapshot) -> str:
    """The account's headline figure ("345 requests left this hour"), or why there is none."""
    headline = pick_headline([snapshot])
    if headline is not None:
        return left_text(headline.meter)
    if snapshot.fetched_at is None and not snapshot.stale:
        return tr("not fetched yet")
    return tr("no usage figures")


def headline_text(headline: Headline, now: datetime) -> str:
    """"345 requests left this hour, resets 16:00"."""
    figure = left_text(headline.meter)
    when = reset_text(headline.meter, now)
    return tr("{figure}, {reset}").format(figure=figure, reset=when) if when else figure


def menu_account_line(snapshot: Snapshot) -> str:
    """One menu line per account: "Main — 345 requests left this hour · OK"."""
    return tr("{label} — {figure} · {status}").format(
        label=snapshot.label, figure=figure_text(snapshot), status=status_text(snapshot))


def tooltip_text(
    snapshots: Iterable[Snapshot], headline: Headline | None, now: datetime, *, paused: bool = False
) -> str:
    """The badge line first, then at most one line per other account.

        Badge: Main (routing.run) — 345 requests left this hour, resets 16:00 · OK
        OpenRouter: $4.20 left on the key · Rate limited (429): Rate limit exceeded

    The badge's own account gets no second line when its figure is the one on the badge.
    """
    snapshots = list(snapshots)
    if not snapshots:
        return tr("Traywidget: no accounts yet. Right-click the icon to add one.")
    merged: str | None = None
    if headline is not None:
        first = tr("Badge: {account} — {headline}").format(
            account=account_name(headline.snapshot), headline=headline_text(headline, now))
        own = pick_headline([headline.snapshot])
        if own is not None and own.key == headline.key:
            merged = headline.snapshot.account_id
            first = tr("{line} · {status}").format(line=first, status=status_text(headline.snapshot))
    else:
        first = tr("Badge: no usage figures yet")
    if paused:
        first = tr("{line} · polling paused").format(line=first)
    lines = [first]
    for snapshot in snapshots:
        if snapshot.account_id == merged:
            continue
        lines.append(tr("{account}: {figure} · {status}").format(
            account=account_name(snapshot), figure=figure_text(snapshot), status=status_text(snapshot)))
    return "\n".join(lines)


# ------------------------------------------------------------------ details (menu submenu, settings)
def meter_value_text(meter: Meter) -> str:
    """"420 / 500", "≈ 40 / 50", "$4.20 / $10.00", "120 used · no cap", "$3.10"."""
    approx = "≈ " if meter.estimated else ""
    if meter.capped:
        return f"{approx}{format_amount(meter.remaining, meter.unit)} / {format_amount(meter.limit, meter.unit)}"
    if meter.unit is Unit.USD and meter.remaining is not None:
        return f"{approx}{format_amount(meter.remaining, meter.unit)}"
    if meter.used is not None:
        return tr("{amount} used · no cap").format(amount=approx + format_amount(meter.used, meter.unit))
    if meter.remaining is not None:
        return tr("{amount} left · no cap").format(amount=approx + format_amount(meter.remaining, meter.unit))
    return tr("no cap") if meter.limit is None else tr("unknown")


def meter_detail(meter: Meter, now: datetime) -> str:
    """"Requests this hour: 420 of 500 left · resets 16:00"."""
    if meter.remaining is None:
        line = left_text(meter)
    else:
        line = tr("{title}: {figure}").format(title=meter_title(meter), figure=_short_left(meter))
    when = reset_text(meter, now)
    return f"{line} · {when}" if when else line


def _short_left(meter: Meter) -> str:
    approx = "≈ " if meter.estimated else ""
    amount = format_amount(meter.remaining, meter.unit)
    if meter.capped:
        return approx + tr("{left} of {limit} left").format(left=amount, limit=format_amount(meter.limit, meter.unit))
    return approx + tr("{amount} left").format(amount=amount)


def age_text(snapshot: Snapshot, now: datetime) -> str:
    if snapshot.fetched_at is None:
        return tr("cached · stale") if snapshot.stale else tr("not fetched yet")
    seconds = max(0.0, (now - snapshot.fetched_at).total_seconds())
    if snapshot.stale:
        return tr("cached just now · stale") if seconds < 2 else tr("cached {duration} ago · stale").format(
            duration=format_duration(seconds))
    return tr("fetched just now") if seconds < 2 else tr("fetched {duration} ago").format(
        duration=format_duration(seconds))


def account_details(snapshot: Snapshot, now: datetime) -> list[str]:
    """What the account's submenu lists: provider and plan, every meter, streams, the error, notes, age."""
    provider = display_name(snapshot.provider)
    plan = tr(snapshot.plan) if snapshot.plan else None
    lines = [tr("{provider} · {plan}").format(provider=provider, plan=plan) if plan else provider]
    lines += [meter_detail(meter, now) for meter in snapshot.meters]
    if snapshot.streams is not None:
        lines.append(streams_text(snapshot.streams))
    error = error_text(snapshot)
    if error and not snapshot.state.is_fine:
        lines.append(tr("Last error: {message}").format(message=error))
    lines += [tr(note) for note in snapshot.notes]
    lines.append(age_text(snapshot, now))
    return lines
