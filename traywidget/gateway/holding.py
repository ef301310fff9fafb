"""The gateway's holds and spend: which accounts it refuses, what each answer used, and the
guard rails that hold an account by themselves. Owned by the Gateway, on its loop.

- `held(account)`: the hold that refuses its next request (the holds file is looked at each time,
  so a hold or resume written by another process applies at once).
- `usage_sink(account)`: where an exchange hands what its answer used; today's totals go to the
  spend book and the sink, and a daily cap reached holds the account until midnight.
- `learned(observation)`: rate-limit windows seen in traffic; one below the reserve holds the
  account until the window resets.
- Every hold that begins or ends (set here, elsewhere, or running out) reaches `on_hold`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from traywidget.gateway.learning import UsageSink
from traywidget.gateway.rails import reserve_crossing, spend_crossing
from traywidget.model import HOLD_KILL, GatewayUsage, Hold, Rails, RequestUsage, TrafficObservation
from traywidget.store.holds import HoldBook
from traywidget.store.spend import SpendBook

log = logging.getLogger(__name__)

# How often the holds file is looked at for holds set or ended elsewhere and holds running out,
# and today's usage is written (the request path looks at the holds before every request anyway).
HOLD_CHECK_S = 1.0

HoldSink = Callable[[str, "Hold | None"], None]
UsageBookSink = Callable[[str, GatewayUsage], None]


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
        """Rate-limit windows in one answer's headers: one below the reserve holds the account."""
        rails = self._rails_of(observation.account_id)
        if rails is None or not observation.meters:
            return
        crossing = reserve_crossing(rails, observation.meters, self._now())
        if crossing is not None:
            self._rail_holds(observation.account_id, *crossing)

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
