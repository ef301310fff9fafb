"""Request counters over time windows, driven by an injectable clock.

Calendar windows (UTC day, clock hour, week from Monday, month) reset at their
boundary; rolling windows count events of the last N seconds. Both take "now"
as an argument so tests can move time without sleeping.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def real_clock() -> datetime:
    return datetime.now(UTC)


class ManualClock:
    """A clock tests can move: `clock.advance(3600)` jumps an hour."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2025, 1, 6, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment


def _floor(moment: datetime, unit: str) -> datetime:
    moment = moment.astimezone(UTC)
    if unit == "minute":
        return moment.replace(second=0, microsecond=0)
    if unit == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown period {unit!r}")


def period_end(moment: datetime, unit: str) -> datetime:
    """When the calendar window containing `moment` resets."""
    start = _floor(moment, unit)
    if unit == "month":
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    step = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1),
            "day": timedelta(days=1), "week": timedelta(days=7)}[unit]
    return start + step


class PeriodCounter:
    """An amount that resets to zero when the calendar period changes."""

    def __init__(self, unit: str) -> None:
        self.unit = unit
        self._start: datetime | None = None
        self._amount: float = 0

    def value(self, now: datetime) -> float:
        if self._start != _floor(now, self.unit):
            return 0
        return self._amount

    def add(self, now: datetime, amount: float = 1) -> None:
        self.set(now, self.value(now) + amount)

    def set(self, now: datetime, amount: float) -> None:
        self._start = _floor(now, self.unit)
        self._amount = amount

    def resets_at(self, now: datetime) -> datetime:
        return period_end(now, self.unit)


class RollingCounter:
    """Events of the last `window_s` seconds (routing.run's per-minute window)."""

    def __init__(self, window_s: float = 60.0) -> None:
        self.window = timedelta(seconds=window_s)
        self._events: deque[tuple[datetime, float]] = deque()

    def _expire(self, now: datetime) -> None:
        while self._events and self._events[0][0] <= now - self.window:
            self._events.popleft()

    def value(self, now: datetime) -> float:
        self._expire(now)
        return sum(amount for _, amount in self._events)

    def add(self, now: datetime, amount: float = 1) -> None:
        self._expire(now)
        self._events.append((now, amount))

    def set(self, now: datetime, amount: float) -> None:
        self._events.clear()
        if amount:
            self._events.append((now, amount))

    def resets_at(self, now: datetime) -> datetime:
        """When the oldest counted event leaves the window (now if empty)."""
        self._expire(now)
        return self._events[0][0] + self.window if self._events else now


class TokenBucket:
    """An OpenAI-style limit: up to `capacity`, refilled evenly over `period_s`.

    The capacity is passed on every call, so a test can change a key's limit
    (configure(rpm=...)) without losing what was spent. A new bucket is full.
    """

    def __init__(self, period_s: float = 60.0) -> None:
        self.period_s = period_s
        self._spent = 0.0  # below capacity, at self._at
        self._at: datetime | None = None

    def _spent_at(self, now: datetime, capacity: float) -> float:
        if self._at is None:
            return 0.0
        refilled = max(0.0, (now - self._at).total_seconds()) * capacity / self.period_s
        return min(capacity, max(0.0, self._spent - refilled))

    def level(self, now: datetime, capacity: float) -> float:
        return capacity - self._spent_at(now, capacity)

    def take(self, now: datetime, capacity: float, amount: float) -> None:
        self._spent = self._spent_at(now, capacity) + amount
        self._at = now

    def seconds_until(self, now: datetime, capacity: float, amount: float) -> float:
        """How long until `amount` is available (0 when it is now)."""
        missing = amount - self.level(now, capacity)
        return max(0.0, missing * self.period_s / capacity) if capacity > 0 else float("inf")

    def full_at(self, now: datetime, capacity: float) -> datetime:
        """When the bucket is back to its capacity (now when it is full)."""
        return now + timedelta(seconds=self.seconds_until(now, capacity, capacity))
