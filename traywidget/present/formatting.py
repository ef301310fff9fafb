"""Plain-text renderings of amounts, durations, resets and meters, shared by the CLI, alerts and views.

Every phrase a person reads goes through traywidget.i18n, and every number
is written the way the current language writes it (1,234 · 1.234 · 1234;
$4.20 · 4,20 $ · 4,20 US$ · US$4.20; 99% · 99 %: traywidget/i18n/numbers.py).
Times are on the 24-hour clock in every language (16:00): it is what the
providers' reset times are said in, and it never needs an am/pm to be read.
The figure phrases always say "left" or "used", and name their window ("345
requests left this hour"), so a number is never shown without what it counts.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from traywidget.i18n import tr, tr_noop, trn, trn_noop
from traywidget.i18n.numbers import money, number, percent
from traywidget.model import (
    BALANCE,
    BUDGET,
    BUDGET_WINDOW_PREFIX,
    CREDITS,
    FREE_REQUESTS_DAY,
    INPUT_TOKENS_WINDOW,
    OUTPUT_TOKENS_WINDOW,
    REQUESTS_DAY,
    REQUESTS_HOUR,
    REQUESTS_MINUTE,
    REQUESTS_WINDOW,
    TOKENS_DAY,
    TOKENS_HOUR,
    TOKENS_MINUTE,
    TOKENS_WINDOW,
    USAGE_5H,
    USAGE_7D,
    Freshness,
    Meter,
    Unit,
    is_balance,
    round_down,
)

DAY_S = 24 * 3600


def format_duration(seconds: float) -> str:
    """"45 s", "23 min", "3 h 5 min", "2 d 4 h" — for reset countdowns and alert bodies."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return tr("{n} s").format(n=seconds)
    minutes = (seconds + 59) // 60 if seconds < 3600 else seconds // 60
    if minutes < 60:
        return tr("{n} min").format(n=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return tr("{h} h {m} min").format(h=hours, m=minutes) if minutes else tr("{h} h").format(h=hours)
    days, hours = divmod(hours, 24)
    return tr("{d} d {h} h").format(d=days, h=hours) if hours else tr("{d} d").format(d=days)


def format_amount(value: float | None, unit: Unit) -> str:
    """A full (menu / panel / alert) rendering of a meter value."""
    if value is None:
        return "?"
    if unit.is_money:
        return money(value, currency=unit.currency or "USD")
    if unit is Unit.PERCENT:
        return percent(int(round_down(value)))
    if float(value).is_integer():
        return number(value)
    return number(value, 1)


def clock_time(moment: datetime) -> str:
    """"16:00": a moment on the local clock."""
    return moment.astimezone().strftime("%H:%M")


def clock_time_s(moment: datetime) -> str:
    """"13:14:20": a moment to the second, for what ends within minutes (a minute's window, a 429)."""
    return moment.astimezone().strftime("%H:%M:%S")


def time_until_reset(resets_at: datetime | None, now: datetime, approximate: bool = False) -> str | None:
    """"23 min", "about 40 s" (a rolling or inferred reset), "now"; None when unknown."""
    if resets_at is None:
        return None
    seconds = (resets_at - now).total_seconds()
    if seconds <= 0:
        return tr("now")
    duration = format_duration(seconds)
    return tr("about {duration}").format(duration=duration) if approximate else duration


def reset_phrase(resets_at: datetime | None, now: datetime, approximate: bool = False) -> str | None:
    """The one "resets in …" phrase: "resets in 23 min", "resets in about 40 s", "resets now"."""
    if resets_at is None:
        return None
    if (resets_at - now).total_seconds() <= 0:
        return tr("resets now")
    return tr("resets in {duration}").format(duration=time_until_reset(resets_at, now, approximate))


def reset_text(meter: Meter, now: datetime) -> str | None:
    """When a meter's window resets, the way a glance reads it: "resets 16:00" today, "resets in
    about 40 s" for a rolling window, "resets in 3 d" further out; None when unknown."""
    if meter.resets_at is None:
        return None
    seconds = (meter.resets_at - now).total_seconds()
    if seconds <= 0 or meter.approximate_reset or seconds >= DAY_S:
        return reset_phrase(meter.resets_at, now, meter.approximate_reset)
    if meter.resets_at.replace(second=0, microsecond=0) <= now:
        # Within the minute it names, "resets 13:14" would read as past: keep the seconds.
        return tr("resets {time}").format(time=clock_time_s(meter.resets_at))
    return tr("resets {time}").format(time=clock_time(meter.resets_at))


# -------------------------------------------------------------------------------- meters in words
_TITLES = {
    REQUESTS_MINUTE: tr_noop("Requests this minute"),
    REQUESTS_HOUR: tr_noop("Requests this hour"),
    REQUESTS_DAY: tr_noop("Requests today"),
    FREE_REQUESTS_DAY: tr_noop("Free-model requests today"),
    CREDITS: tr_noop("Credits left on the key"),
    BALANCE: tr_noop("Account balance"),
    REQUESTS_WINDOW: tr_noop("Requests in the current window"),
    TOKENS_WINDOW: tr_noop("Tokens in the current window"),
    INPUT_TOKENS_WINDOW: tr_noop("Input tokens in the current window"),
    OUTPUT_TOKENS_WINDOW: tr_noop("Output tokens in the current window"),
    TOKENS_MINUTE: tr_noop("Tokens this minute"),
    TOKENS_HOUR: tr_noop("Tokens this hour"),
    TOKENS_DAY: tr_noop("Tokens today"),
    USAGE_5H: tr_noop("5-hour window"),
    USAGE_7D: tr_noop("7-day window"),
    BUDGET: tr_noop("Key budget"),
}

# (singular, plural) with {amount}: the number left, or "100 of 500".
_LEFT = {
    REQUESTS_MINUTE: trn_noop("{amount} request left this minute", "{amount} requests left this minute"),
    REQUESTS_HOUR: trn_noop("{amount} request left this hour", "{amount} requests left this hour"),
    REQUESTS_DAY: trn_noop("{amount} request left today", "{amount} requests left today"),
    FREE_REQUESTS_DAY: trn_noop("{amount} free-model request left today", "{amount} free-model requests left today"),
    REQUESTS_WINDOW: trn_noop("{amount} request left in this window", "{amount} requests left in this window"),
    TOKENS_WINDOW: trn_noop("{amount} token left in this window", "{amount} tokens left in this window"),
    INPUT_TOKENS_WINDOW: trn_noop("{amount} input token left in this window",
                                  "{amount} input tokens left in this window"),
    OUTPUT_TOKENS_WINDOW: trn_noop("{amount} output token left in this window",
                                   "{amount} output tokens left in this window"),
    TOKENS_MINUTE: trn_noop("{amount} token left this minute", "{amount} tokens left this minute"),
    TOKENS_HOUR: trn_noop("{amount} token left this hour", "{amount} tokens left this hour"),
    TOKENS_DAY: trn_noop("{amount} token left today", "{amount} tokens left today"),
}
_MONEY_LEFT = {
    CREDITS: tr_noop("{amount} left on the key"),
    BALANCE: tr_noop("{amount} left in the balance"),
    BUDGET: tr_noop("{amount} left in the key's budget"),
}


def meter_title(meter: Meter) -> str:
    """"Requests this hour": what a meter counts."""
    title = _TITLES.get(meter.name)
    if title is None and is_balance(meter.name):
        title = _TITLES[BALANCE]  # "balance_cny": one of an account's balances, its currency says which
    if title is None and meter.name.startswith(BUDGET_WINDOW_PREFIX):
        return tr("Budget per {window}").format(window=meter.name[len(BUDGET_WINDOW_PREFIX):])
    return tr(title) if title else meter.name  # a meter no table names yet: its own name, never nothing


def count_left(value: float) -> str:
    """A count of requests or tokens left, rounded down: never more than there is."""
    return number(round_down(value))


def left_text(meter: Meter, of_limit: bool = False) -> str:
    """"345 requests left this hour", "100 of 500 requests left this hour" (of_limit), "$4.20 left on
    the key", "Requests this hour: 120 used, no cap", "Requests this hour: unknown". An estimate (a
    documented default cap, a window refilled at its reset) is marked "≈"."""
    approx = "≈ " if meter.estimated or meter.freshness is Freshness.REFILLED else ""
    if meter.remaining is None:
        if meter.used is not None and not meter.capped:
            return tr("{title}: {amount} used, no cap").format(
                title=meter_title(meter), amount=approx + format_amount(meter.used, meter.unit))
        return tr("{title}: unknown").format(title=meter_title(meter))
    if meter.unit.is_money or meter.unit is Unit.PERCENT:
        amount = format_amount(meter.remaining, meter.unit)
        if of_limit and meter.capped and meter.unit is not Unit.PERCENT:  # "9% of 100%" says nothing more
            amount = tr("{left} of {limit}").format(left=amount, limit=format_amount(meter.limit, meter.unit))
        phrase = _MONEY_LEFT.get(BALANCE if is_balance(meter.name) else meter.name) if meter.unit.is_money else None
        if phrase is None:
            return tr("{title}: {amount} left").format(title=meter_title(meter), amount=approx + amount)
        return tr(phrase).format(amount=approx + amount)
    amount, n = count_left(meter.remaining), int(meter.remaining)
    if of_limit and meter.capped and meter.limit is not None:
        amount = tr("{left} of {limit}").format(left=amount, limit=count_left(meter.limit))
        n = int(meter.limit)
    phrases = _LEFT.get(meter.name)
    if phrases is None:
        return tr("{title}: {amount} left").format(title=meter_title(meter), amount=approx + amount)
    return trn(*phrases, n).format(amount=approx + amount)


def percent_left(meter: Meter) -> str:
    """"99%" ("99 %" in German) for 998 of 1,000: rounded down, never promising more than is left."""
    return percent(meter.percent_left or 0)


# -------------------------------------------------------------------------------- columns
def text_width(text: str) -> int:
    """How many terminal columns `text` takes: a Chinese character takes two, so `len` cannot align it."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def pad(text: str, width: int) -> str:
    """`text` followed by spaces up to `width` terminal columns (str.ljust counting columns)."""
    return text + " " * max(0, width - text_width(text))
