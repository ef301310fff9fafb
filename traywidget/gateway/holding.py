"""The gateway's holds and spend: which accounts it refuses, what each answer used, and the
guard rails that hold an account by themselves. Owned by the Gateway, on its loop.

- `held(account)`: the hold that refuses its next request (the holds file is looked at each time,
  so a hold or resume written by another process applies at once).
- `usage_sink(account)`: where an exchange hands what its answer used; today's totals go to the
  spend book and the sink, and a daily cap reached holds the account until midnight.
- `learned(observation)`: rate-limit windows seen in traffic; one below the reserve holds the
  account until the window resets.
- `polled(snapshot)`: for an account whose traffic reports no request windows (routing.run), the
  reserve watches the last poll's windows less the requests answered through the gateway since.
- Every hold that begins or ends (set here, elsewhere, or running out) reaches `on_hold`.
"""

from __future__ import annotations

import asyncio
import logging
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from traywidget.gateway.learning import UsageSink
from traywidget.gateway.rails import WINDOW_METERS, reserve_crossing, spend_crossing
from traywidget.model import (
    HOLD_KILL,
    REQUESTS_WINDOW,
    Freshness,
    GatewayUsage,
    Hold,
    Meter,
    Rails,
    RequestUsage,
    Snapshot,
    Source,
    TrafficObservation,
)
from traywidget.store.holds import HoldBook
from traywidget.store.spend import SpendBook

log = logging.getLogger(__name__)

# How often the holds file is looked at for holds set or ended elsewhere and holds running out,
# and today's usage is written (the request path looks at the holds before every request anyway).
HOLD_CHECK_S = 1.0

HoldSink = Callable[[str, "Hold | None"], None]
UsageBookSink = Callable[[str, GatewayUsage], None]
_REQUEST_WINDOWS = frozenset({*WINDOW_METERS.values(), REQUESTS_WINDOW})


# Requests answered through the gateway kept per account to set against polled windows (a poll arrives
# every few minutes; past this many between two, the oldest are dropped).
MAX_ANSWERS_KEPT = 100_000


@dataclass
class AnsweredTimes:
    """When an account's requests were answered through the gateway: each counts once in every window
    read before it."""

    at: list[datetime] = field(default_factory=list)  # in the order they came

    def add(self, when: datetime) -> None:
        self.at.append(when)
        if len(self.at) > MAX_ANSWERS_KEPT:
            del self.at[: len(self.at) - MAX_ANSWERS_KEPT]

    def since(self, when: datetime) -> int:
        return len(self.at) - bisect_left(self.at, when)

    def forget_before(self, when: datetime) -> None:
        del self.at[: bisect_left(self.at, when)]


def estimated_windows(polled: tuple[Meter, ...], answers: AnsweredTimes, now: datetime) -> tuple[Meter, ...]:
    """The polled request windows now: each less the requests answered since its poll asked (`seen_at`,
    so one answered while the poll was under way is counted, never missed); a window whose reset has
    passed says nothing until the next poll."""
    return tuple(replace(m, remaining=max(0.0, m.remaining - answers.since(m.seen_at))) for m in polled
                 if m.remaining is not None and m.seen_at is not None and (m.resets_at is None or m.resets_at > now))


class HoldKeeper:
    def __init__(self, holds: HoldBook | None, spend: SpendBook | None, rails_of: Callable[[str], Rails | None],
                 now: Callable[[], datetime], on_hold: HoldSink | None = None,
                 on_usage: UsageBookSink | None = None) -> None:
        """`holds`/`spend` None: no holds / no counting; `rails_of`: an account's rails as configured now."""
        self._holds = holds
        self._spend = spend
        self._rails_of = rails_of
        self._now = now
        self.on_hold = on_hold
        self.on_usage = on_usage
        self._told: dict[str, Hold] = {}
        self._watch: asyncio.Task | None = None
        # For a reserve on an account whose answers report no request windows: its last polled windows,
        # and when its requests were answered since.
        self._polled: dict[str, tuple[Meter, ...]] = {}
        self._answers: dict[str, AnsweredTimes] = {}
        self._windows_in_traffic: set[str] = set()  # accounts whose own answers report their windows

    # --- holds ---------------------------------------------------------------------

    @property
    def keeps_holds(self) -> bool:
        return self._holds is not None

    def held(self, account_id: str) -> Hold | None:
        return self._holds.active(account_id) if self._holds is not None else None

    def hold(self, account_ids: Iterable[str], minutes: float | None, reason: str = HOLD_KILL) -> dict[str, Hold]:
        if self._holds is None:
            raise RuntimeError("this gateway keeps no holds")
        held = self._holds.hold(account_ids, reason, minutes)
        self._tell()
        return held

    def resume(self, account_ids: Iterable[str] | None) -> list[str]:
        if self._holds is None:
            return []
        resumed = self._holds.resume(None if account_ids is None else list(account_ids))
        self._tell()
        return resumed

    def holds(self) -> dict[str, Hold]:
        return {} if self._holds is None else self._holds.all_active()

    # --- spend ---------------------------------------------------------------------

    def usage_today(self, account_ids: Iterable[str]) -> dict[str, GatewayUsage]:
        if self._spend is None:
            return {}
        return {account_id: self._spend.today(account_id) for account_id in account_ids}

    def usage_sink(self, account_id: str) -> UsageSink | None:
        """What an exchange of this account calls with what its answer used (None: nothing is counted)."""
        if self._spend is None:
            return None
        spend = self._spend

        def spent(usage: RequestUsage) -> None:
            today = spend.record(account_id, usage)
            if self.on_usage is not None:
                self.on_usage(account_id, today)
            rails = self._rails_of(account_id)
            if rails is not None:
                crossing = spend_crossing(rails, today, self._now())
                if crossing is not None:
                    self._rail_holds(account_id, *crossing)

        return spent

    def learned(self, observation: TrafficObservation) -> None:
        """Rate-limit windows in one answer's headers: one below the reserve holds the account. (Told at
        the headers, before the answer's body reaches the tool: its next request already finds the hold.)"""
        account_id = observation.account_id
        if any(meter.name in _REQUEST_WINDOWS for meter in observation.meters):
            self._windows_in_traffic.add(account_id)  # fresher than any poll: watched from here
            self._polled.pop(account_id, None)
            self._answers.pop(account_id, None)
        elif observation.state is None and account_id in self._polled:  # one request more in every window
            answers = self._answers.setdefault(account_id, AnsweredTimes())
            answers.add(self._now())
            self._check_reserve(account_id, estimated_windows(self._polled[account_id], answers, self._now()))
        self._check_reserve(account_id, observation.meters)

    def polled(self, snapshot: Snapshot) -> None:
        """An account's snapshot from the engine. For an account whose answers report no request windows
        (routing.run's), its polled windows are what the reserve watches: at once (the user's direct
        traffic spends the same windows), then less each request answered through the gateway since."""
        account_id = snapshot.account_id
        if snapshot.stale or account_id in self._windows_in_traffic:
            return
        meters = tuple(m for m in snapshot.meters if m.name in _REQUEST_WINDOWS and m.source is Source.POLL
                       and m.freshness is Freshness.CURRENT and m.seen_at is not None)
        if not meters or not self._has_reserve(account_id):
            self._polled.pop(account_id, None)
            self._answers.pop(account_id, None)
            return
        if self._polled.get(account_id) == meters:
            # The same reading published again (a hold told, a stream counted): judged when it came. A
            # resume publishes too, and must let the very next request through.
            return
        self._polled[account_id] = meters
        answers = self._answers.setdefault(account_id, AnsweredTimes())
        answers.forget_before(min(m.seen_at for m in meters if m.seen_at is not None))
        self._check_reserve(account_id, estimated_windows(meters, answers, self._now()))

    def _has_reserve(self, account_id: str) -> bool:
        rails = self._rails_of(account_id)
        return rails is not None and rails.reserve is not None

    def _check_reserve(self, account_id: str, meters: tuple[Meter, ...]) -> None:
        rails = self._rails_of(account_id)
        if rails is None or not meters:
            return
        crossing = reserve_crossing(rails, meters, self._now())
        if crossing is not None:
            self._rail_holds(account_id, *crossing)

    def _rail_holds(self, account_id: str, reason: str, until: datetime) -> None:
        if self._holds is None:
            return
        current = self._holds.active(account_id)
        if current is not None and (current.until is None or current.until >= until):
            return
        self._holds.hold_until([account_id], reason, until)
        log.info("Holding %s's gateway traffic (%s) until %s", account_id, reason, until.isoformat())
        self._tell()

    # --- while the gateway runs ----------------------------------------------------

    def start(self, account_ids: Iterable[str]) -> None:
        """Tell the sinks what holds and what today's usage is, then keep them told."""
        if self._holds is None and self._spend is None:
            return
        self._tell()
        if self.on_usage is not None:
            for account_id, usage in self.usage_today(account_ids).items():
                self.on_usage(account_id, usage)
        self._watch = asyncio.get_running_loop().create_task(self._keep_told(), name="gateway-holds")

    def stop(self) -> None:
        """Stop looking (call after the last stream ended: its usage is written too)."""
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        if self._spend is not None:
            self._spend.flush()

    def _tell(self) -> None:
        """Tell the sink of every hold that began or ended since it last heard."""
        if self._holds is None or self.on_hold is None:
            return
        now_held = self._holds.all_active()
        for account_id in set(self._told) | set(now_held):
            hold = now_held.get(account_id)
            if self._told.get(account_id) != hold:
                try:
                    self.on_hold(account_id, hold)
                except Exception:  # a failing view must not break the traffic
                    log.exception("The hold sink failed")
        self._told = now_held

    async def _keep_told(self) -> None:
        while True:
            await asyncio.sleep(HOLD_CHECK_S)
            try:
                self._tell()
            except OSError as exc:
                log.warning("Cannot read the holds: %s", exc)
            if self._spend is not None:
                self._spend.flush()
