"""When provider windows reset: UTC calendar arithmetic, pure (callers pass `now`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def as_utc(now: datetime) -> datetime:
    """`now` as an aware UTC datetime (a naive one is taken to be UTC)."""
    if now.tzinfo is None:
        return now.replace(tzinfo=UTC)
    return now.astimezone(UTC)


def next_utc_midnight(now: datetime) -> datetime:
    now = as_utc(now)
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


def next_top_of_hour(now: datetime) -> datetime:
    now = as_utc(now)
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def next_monday_utc(now: datetime) -> datetime:
    """The next Monday 00:00 UTC strictly after `now` (weeks start Monday)."""
    midnight = next_utc_midnight(now)
    return midnight + timedelta(days=(7 - midnight.weekday()) % 7)


def first_of_next_month_utc(now: datetime) -> datetime:
    now = as_utc(now)
    if now.month == 12:
        return datetime(now.year + 1, 1, 1, tzinfo=UTC)
    return datetime(now.year, now.month + 1, 1, tzinfo=UTC)


def seconds_until(moment: datetime | None, now: datetime) -> float | None:
    if moment is None:
        return None
    return max(0.0, (moment - as_utc(now)).total_seconds())


def next_midnight_in(zone: str, now: datetime) -> datetime:
    """The next midnight on `zone`'s clock (an IANA name, "America/Los_Angeles"), in UTC; UTC midnight
    when the zone database is missing (a bare Windows Python without tzdata)."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return next_utc_midnight(now)
    local = as_utc(now).astimezone(tz)
    midnight = datetime(local.year, local.month, local.day, tzinfo=tz) + timedelta(days=1)
    return midnight.astimezone(UTC)
