"""Guard rails: when an account's own traffic says it must be held, and the words a held request gets.

- A reserve: fewer than `reserve` requests left in the chosen window (as the rate-limit headers
  on the account's own traffic report it, or where they report none, the last poll less the
  requests answered since: gateway/holding.py) holds the account until that window resets. A
  provider whose headers do not name the window's length reports one requests window
  ("requests"); the reserve watches that one then.
- A daily cap: today's reported cost through the gateway at or above `daily_cap` holds the
  account until the next local midnight.
The request whose answer crosses a rail is answered; the next one is held.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from traywidget.model import (
    HOLD_DAILY_CAP,
    HOLD_KILL,
    HOLD_RESERVE,
    REQUESTS_DAY,
    REQUESTS_HOUR,
    REQUESTS_MINUTE,
    REQUESTS_WINDOW,
    GatewayUsage,
    Hold,
    Meter,
    Rails,
    iso,
)
from traywidget.store.spend import next_midnight

WINDOW_METERS = {"minute": REQUESTS_MINUTE, "hour": REQUESTS_HOUR, "day": REQUESTS_DAY}
WINDOW_LENGTH = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


def reserve_crossing(rails: Rails, meters: tuple[Meter, ...], now: datetime) -> tuple[str, datetime] | None:
    """(HOLD_RESERVE, until) when these traffic meters leave fewer requests than the reserve."""
    if rails.reserve is None:
        return None
    by_name = {meter.name: meter for meter in meters}
    meter = by_name.get(WINDOW_METERS[rails.reserve_window]) or by_name.get(REQUESTS_WINDOW)
    if meter is None or meter.remaining is None or meter.remaining >= rails.reserve:
        return None
    until = meter.resets_at if meter.resets_at is not None and meter.resets_at > now else None
    return HOLD_RESERVE, until or now + WINDOW_LENGTH[rails.reserve_window]


def spend_crossing(rails: Rails, today: GatewayUsage, now: datetime) -> tuple[str, datetime] | None:
    """(HOLD_DAILY_CAP, next local midnight) when today's reported cost reached the cap."""
    cost = today.total.cost
    if rails.daily_cap is None or cost is None or cost < rails.daily_cap:
        return None
    return HOLD_DAILY_CAP, next_midnight(now)


_WHY = {
    HOLD_KILL: "Kill all streams with a hold",
    HOLD_RESERVE: "its reserve: few requests are left in the window, kept for your own use",
    HOLD_DAILY_CAP: "its daily spend cap was reached",
}


def hold_message(account_id: str, hold: Hold) -> str:
    """What a held request's error says (English, like the provider's own errors)."""
    until = "until you resume" if hold.until is None else f"until {iso(hold.until)}"
    why = _WHY.get(hold.reason, hold.reason)
    return (f"Requests for traywidget account {account_id!r} are held by traywidget ({why}) "
            f"{until}; this request was not sent. Resume with `traywidget resume --account {account_id}` or the tray "
            "menu's \"Resume requests\".")
