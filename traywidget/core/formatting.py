"""Plain-text renderings of amounts and durations, shared by the CLI, alerts and views."""

from __future__ import annotations

from datetime import datetime

from traywidget.model import Unit


def format_duration(seconds: float) -> str:
    """"45 s", "23 min", "3 h 5 min", "2 d 4 h" — for reset countdowns and alert bodies."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes = (seconds + 59) // 60 if seconds < 3600 else seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def format_amount(value: float | None, unit: Unit) -> str:
    """A full (menu / panel / alert) rendering of a meter value."""
    if value is None:
        return "?"
    if unit is Unit.USD:
        sign = "-" if value < 0 else ""
        return f"{sign}${abs(value):,.2f}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def time_until_reset(resets_at: datetime | None, now: datetime, approximate: bool = False) -> str | None:
    """"23 min", "about 40 s" (a rolling or inferred reset), "now"; None when unknown."""
    if resets_at is None:
        return None
    seconds = (resets_at - now).total_seconds()
    if seconds <= 0:
        return "now"
    return ("about " if approximate else "") + format_duration(seconds)


def reset_phrase(resets_at: datetime | None, now: datetime, approximate: bool = False) -> str | None:
    """The one "resets in …" phrase: "resets in 23 min", "resets in about 40 s", "resets now"."""
    until = time_until_reset(resets_at, now, approximate)
    if until is None:
        return None
    return "resets now" if until == "now" else f"resets in {until}"
