"""Which notifications a new snapshot causes. Pure policy: no Qt, no I/O.

The engine emits a snapshot on every poll (every few seconds). A naive
"notify when state is bad" would storm the desktop; this policy remembers,
per account and per meter, what it already said and only speaks on an edge:

* a 429 — once per rate-limit episode (the episode ends at the next good poll);
* a window exhausted — once, re-armed when remaining rises above zero again;
* remaining crossing each threshold (20 % and 5 % by default) — once per
  crossing, re-armed when the window resets or remaining rises back above;
* quota restored — after exhausted / rate-limited, back to ok;
* persistent auth / payment errors — first occurrence, then at most once per
  ``auth_repeat_s`` while the error persists.

Stale snapshots (loaded from the cache, not confirmed by a poll) never alert
and never change what the policy remembers. Offline / transient errors do not
end an episode either: a network blip in the middle of a 429 episode must not
cause a second 429 alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Mapping

from traywidget.core.formatting import format_amount, format_duration, reset_phrase
from traywidget.model import (
    REQUESTS_DAY,
    REQUESTS_HOUR,
    REQUESTS_MINUTE,
    KillResult,
    Meter,
    Snapshot,
    State,
    Thresholds,
    Unit,
)

# Kinds of alert (stable strings, usable as notification categories).
RATE_LIMITED = "rate_limited"
EXHAUSTED = "exhausted"
THRESHOLD = "threshold"
RESTORED = "restored"
AUTH_ERROR = "auth_error"
PAYMENT_REQUIRED = "payment_required"
KILL_RESULT = "kill_result"


_LIMIT_KIND_METER = {
    "minute": REQUESTS_MINUTE,
    "hourly": REQUESTS_HOUR,
    "hour": REQUESTS_HOUR,
    "daily": REQUESTS_DAY,
    "day": REQUESTS_DAY,
}
_LIMIT_KIND_TEXT = {
    "minute": "Per-minute limit",
    "hourly": "Hourly limit",
    "hour": "Hourly limit",
    "daily": "Daily limit",
    "day": "Daily limit",
    "concurrent_streams": "Concurrent-stream limit",
    "ip": "Per-IP limit",
}

# A window whose reset time moves later by more than this has reset.
_RESET_JUMP = timedelta(seconds=30)


@dataclass(frozen=True)
class Alert:
    kind: str
    account_id: str
    title: str
    body: str
    meter: str | None = None


@dataclass
class _MeterMemory:
    fired_levels: set[float] = field(default_factory=set)
    exhausted: bool = False
    resets_at: datetime | None = None


@dataclass
class _AccountMemory:
    rate_limited: bool = False
    exhausted: bool = False  # account state or any capped meter at zero
    auth_since: datetime | None = None
    auth_last_alert: datetime | None = None
    meters: dict[str, _MeterMemory] = field(default_factory=dict)


class AlertPolicy:
    def __init__(
        self,
        thresholds: Thresholds = Thresholds(),
        auth_repeat_s: float = 3600,
        low_usd: float = 1.0,
    ) -> None:
        self.thresholds = thresholds
        self.auth_repeat_s = auth_repeat_s
        # Uncapped money meters (a balance with no known total) alert below this.
        self.low_usd = low_usd
        self._memory: dict[str, _AccountMemory] = {}

    def set_thresholds(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds

    def forget(self, account_id: str) -> None:
        self._memory.pop(account_id, None)

    # ------------------------------------------------------------------ core
    def update(self, snapshot: Snapshot, now: datetime) -> list[Alert]:
        if snapshot.stale:
            return []
        memory = self._memory.setdefault(snapshot.account_id, _AccountMemory())
        alerts: list[Alert] = []
        state = snapshot.state

        # --- auth / payment: first occurrence, then throttled.
        if state in (State.AUTH_ERROR, State.PAYMENT_REQUIRED):
            if memory.auth_since is None:
                memory.auth_since = now
            due = memory.auth_last_alert is None or (
                (now - memory.auth_last_alert).total_seconds() >= self.auth_repeat_s
            )
            if due:
                memory.auth_last_alert = now
                alerts.append(self._auth_alert(snapshot))
            return alerts
        if state.key_accepted:
            memory.auth_since = None
            memory.auth_last_alert = None

        # Offline, a server error or no key says nothing about quota: no episode starts or ends.
        if not state.key_accepted:
            return alerts

        was_bad = memory.rate_limited or memory.exhausted

        # --- 429 episode.
        if state is State.RATE_LIMITED:
            if not memory.rate_limited:
                memory.rate_limited = True
                alerts.append(self._rate_limit_alert(snapshot, now))
        elif state.is_quota_reading:
            memory.rate_limited = False

        # --- per meter: exhausted and threshold crossings.
        any_exhausted = state is State.EXHAUSTED
        for meter in snapshot.meters:
            alerts.extend(self._meter_alerts(snapshot, meter, memory, now))
            if memory.meters[meter.name].exhausted:
                any_exhausted = True
        if state is State.EXHAUSTED and not any(
            m.exhausted for m in memory.meters.values()
        ) and not memory.exhausted:
            alerts.append(
                Alert(EXHAUSTED, snapshot.account_id, f"{snapshot.label}: quota exhausted",
                      _first_error_line(snapshot) or "No requests left in the current window.")
            )
        memory.exhausted = any_exhausted

        # --- restored.
        if was_bad and state.is_fine and not memory.exhausted and not memory.rate_limited:
            alerts.append(
                Alert(RESTORED, snapshot.account_id, f"{snapshot.label}: quota restored",
                      _restored_body(snapshot))
            )
        return alerts

    # --------------------------------------------------------------- meters
    def _meter_alerts(
        self, snapshot: Snapshot, meter: Meter, memory: _AccountMemory, now: datetime
    ) -> Iterable[Alert]:
        mem = memory.meters.setdefault(meter.name, _MeterMemory())
        # A window reset re-arms everything for this meter.
        if (
            mem.resets_at is not None
            and meter.resets_at is not None
            and meter.resets_at - mem.resets_at > _RESET_JUMP
        ):
            mem.fired_levels.clear()
            mem.exhausted = False
        if meter.resets_at is not None:
            mem.resets_at = meter.resets_at
        if meter.remaining is None:
            return []

        out: list[Alert] = []
        label = snapshot.label
        is_money = meter.unit is Unit.USD

        if meter.capped:
            fraction = meter.fraction_left
            assert fraction is not None
            exhausted = meter.remaining <= 0
            levels = sorted(self.thresholds.levels, reverse=True)
            # Re-arm the levels the meter is back above.
            for level in list(mem.fired_levels):
                if fraction > level:
                    mem.fired_levels.discard(level)
            if exhausted:
                if not mem.exhausted:
                    mem.exhausted = True
                    out.append(self._exhausted_alert(snapshot, meter, now))
                mem.fired_levels.update(levels)
                return out
            mem.exhausted = False
            crossed = [lv for lv in levels if fraction <= lv and lv not in mem.fired_levels]
            if crossed:
                lowest = min(crossed)
                # Jumping past several levels at once says only the lowest.
                mem.fired_levels.update(lv for lv in levels if lv >= lowest)
                left = format_amount(meter.remaining, meter.unit)
                total = format_amount(meter.limit, meter.unit)
                what = "credits" if is_money else "requests"
                body = f"{meter.title}: {left} of {total} {what} left ({fraction:.0%})."
                body += _reset_sentence(meter, now)
                title = (
                    f"{label}: credits running low" if is_money
                    else f"{label}: {lowest:.0%} of {meter.title.lower()} left"
                )
                out.append(Alert(THRESHOLD, snapshot.account_id, title, body, meter.name))
            return out

        if is_money:
            # Uncapped money: a balance. Alert below low_usd and at zero.
            if meter.remaining <= 0:
                if not mem.exhausted:
                    mem.exhausted = True
                    out.append(self._exhausted_alert(snapshot, meter, now))
                mem.fired_levels.add(self.low_usd)
                return out
            mem.exhausted = False
            if meter.remaining > self.low_usd:
                mem.fired_levels.discard(self.low_usd)
            elif self.low_usd not in mem.fired_levels:
                mem.fired_levels.add(self.low_usd)
                out.append(
                    Alert(THRESHOLD, snapshot.account_id, f"{label}: credits running low",
                          f"{meter.title}: {format_amount(meter.remaining, meter.unit)} left.",
                          meter.name)
                )
        return out

    # ------------------------------------------------------------- messages
    def _exhausted_alert(self, snapshot: Snapshot, meter: Meter, now: datetime) -> Alert:
        if meter.unit is Unit.USD:
            title = f"{snapshot.label}: credits exhausted"
            body = f"{meter.title}: {format_amount(meter.remaining, meter.unit)} left."
        else:
            title = f"{snapshot.label}: {meter.title.lower()} used up"
            body = f"0 of {format_amount(meter.limit, meter.unit)} left."
        body += _reset_sentence(meter, now)
        return Alert(EXHAUSTED, snapshot.account_id, title, body, meter.name)

    def _rate_limit_alert(self, snapshot: Snapshot, now: datetime) -> Alert:
        error = snapshot.error
        kind = error.limit_kind if error else None
        which = _LIMIT_KIND_TEXT.get(kind or "", "Rate limit")
        if kind in _LIMIT_KIND_TEXT:
            title = f"{snapshot.label}: {which.lower()} hit (429)"
        else:
            title = f"{snapshot.label}: rate limited (429)"
        parts: list[str] = []
        if error and error.message:
            parts.append(error.message.rstrip(".") + ".")
        meter_name = _LIMIT_KIND_METER.get(kind or "")
        meter = snapshot.meter(meter_name) if meter_name else None
        if meter is not None and meter.resets_at is not None:
            parts.append(_reset_sentence(meter, now).strip())
        elif error and error.retry_after_s is not None:
            parts.append(f"Retry in {format_duration(error.retry_after_s)}.")
        return Alert(RATE_LIMITED, snapshot.account_id, title, " ".join(parts) or "Too many requests.",
                     meter_name)

    def _auth_alert(self, snapshot: Snapshot) -> Alert:
        if snapshot.state is State.PAYMENT_REQUIRED:
            kind, title = PAYMENT_REQUIRED, f"{snapshot.label}: payment required"
            default = "The provider refuses requests until the account is topped up."
        else:
            kind, title = AUTH_ERROR, f"{snapshot.label}: key rejected"
            default = "The provider rejected the API key. Check it in Settings."
        body = _first_error_line(snapshot) or default
        return Alert(kind, snapshot.account_id, title, body)


def _reset_sentence(meter: Meter, now: datetime) -> str:
    """" Resets in 23 min." to append to a body, or "" when the reset is unknown."""
    phrase = reset_phrase(meter.resets_at, now, meter.approximate_reset)
    return f" {phrase[0].upper()}{phrase[1:]}." if phrase else ""


def _first_error_line(snapshot: Snapshot) -> str | None:
    if snapshot.error and snapshot.error.message:
        return snapshot.error.message.splitlines()[0][:200]
    return None


def _restored_body(snapshot: Snapshot) -> str:
    for meter in snapshot.meters:
        if meter.capped and meter.remaining is not None:
            return (f"{meter.title}: {format_amount(meter.remaining, meter.unit)} / "
                    f"{format_amount(meter.limit, meter.unit)} available.")
    return "Requests are going through again."


def kill_summary(results: list[KillResult], labels: Mapping[str, str]) -> Alert:
    """The one notification after "Kill all streams"."""
    supported = [r for r in results if r.supported and r.error is None]
    streams = sum(r.killed_streams or 0 for r in supported)
    accounts = len(supported)
    title = (f"Stopped {streams} stream{'s' if streams != 1 else ''} "
             f"on {accounts} account{'s' if accounts != 1 else ''}")
    lines: list[str] = []
    unsupported = [labels.get(r.account_id, r.account_id) for r in results if not r.supported]
    failed = [r for r in results if r.supported and r.error is not None]
    if unsupported:
        lines.append(f"Cannot stop streams: {', '.join(unsupported)} (the provider has no kill API).")
    for r in failed:
        lines.append(f"{labels.get(r.account_id, r.account_id)}: {r.error.message}")  # type: ignore[union-attr]
    if not results:
        lines.append("No accounts configured.")
    return Alert(KILL_RESULT, "", title, "\n".join(lines) or "All streams stopped.")
