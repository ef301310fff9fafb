"""Words and numbers the views show. No Qt here, so it is tested without a display.

One place for: compact badge numbers, the tooltip, the menu's account lines
and their details, state names, ages. Figures always say "left" or "used"
(present.formatting.left_text); the figure of an account is the same in the
tooltip, the menu and the panel, because all of them take it from its headline.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from traywidget.i18n import tr, tr_noop, trn
from traywidget.i18n.numbers import decimal_text, money, narrow_currency_sign, number
from traywidget.model import (
    BALANCE,
    CREDITS,
    FREE_REQUESTS_DAY,
    REQUESTS_DAY,
    REQUESTS_HOUR,
    REQUESTS_MINUTE,
    Freshness,
    GatewayUsage,
    Hold,
    Meter,
    Snapshot,
    Source,
    State,
    Unit,
    round_down,
)
from traywidget.present.formatting import (
    clock_time,
    clock_time_s,
    format_amount,
    format_duration,
    left_text,
    meter_title,
    reset_text,
)
from traywidget.present.freshness import account_reading, rate_limit_ends, read_at
from traywidget.present.headline import Headline, pick_headline
from traywidget.present.pace import clock_text
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
    State.BLOCKED: tr_noop("Blocked by firewall"),
}

# Short enough for one tooltip line; the panel shows the whole message.
ERROR_MAX = 300  # an error in details and the panel (the provider's message can be a page)
ERROR_IN_LINE_MAX = 60


# The state word of a low or used-up account names the window that made it so.
_WINDOW_STATE_TEXT = {
    (State.LOW, REQUESTS_MINUTE): tr_noop("Running low this minute"),
    (State.LOW, REQUESTS_HOUR): tr_noop("Running low this hour"),
    (State.LOW, REQUESTS_DAY): tr_noop("Running low today"),
    (State.LOW, FREE_REQUESTS_DAY): tr_noop("Free requests running low today"),
    (State.LOW, CREDITS): tr_noop("Credits running low"),
    (State.LOW, BALANCE): tr_noop("Balance running low"),
    (State.EXHAUSTED, REQUESTS_MINUTE): tr_noop("Exhausted this minute"),
    (State.EXHAUSTED, REQUESTS_HOUR): tr_noop("Exhausted this hour"),
    (State.EXHAUSTED, REQUESTS_DAY): tr_noop("Exhausted today"),
    (State.EXHAUSTED, FREE_REQUESTS_DAY): tr_noop("Free requests exhausted today"),
    (State.EXHAUSTED, CREDITS): tr_noop("Credits used up"),
    (State.EXHAUSTED, BALANCE): tr_noop("Balance empty"),
}
_IN_WINDOW_STATE_TEXT = {
    State.LOW: tr_noop("Running low in this window"),
    State.EXHAUSTED: tr_noop("Exhausted in this window"),
}


def state_text(state: State) -> str:
    """The state's word alone ("Running low"); an account's state reads better through `account_state_text`."""
    return tr(STATE_TEXT[state])


def _window_of_state(snapshot: Snapshot) -> Meter | None:
    """The current window that makes an account low or exhausted: the one at 0, else the least left."""
    current = [m for m in snapshot.meters if m.freshness is Freshness.CURRENT]
    if snapshot.state is State.EXHAUSTED:
        return next((m for m in current if m.remaining is not None and m.remaining <= 0), None)
    shares = [(share, i) for i, m in enumerate(current) if (share := m.fraction_left) is not None]
    return current[min(shares)[1]] if shares else None


def state_word(snapshot: Snapshot) -> str:
    """The account's state in a word or three, naming the window it is about ("Running low this minute")."""
    state = snapshot.state
    if state in (State.LOW, State.EXHAUSTED):
        meter = _window_of_state(snapshot)
        if meter is not None:
            phrase = _WINDOW_STATE_TEXT.get((state, meter.name))
            if phrase is None and not meter.unit.is_money:
                phrase = _IN_WINDOW_STATE_TEXT[state]
            if phrase is not None:
                return tr(phrase)
    return state_text(state)


def account_state_text(snapshot: Snapshot) -> str:
    """`state_word`, and for a 429 until when it holds ("Rate limited (429) until 13:14:20") or, when
    it never said, when it was seen ("Rate limited (429), seen 13:14")."""
    state = snapshot.state
    if state is State.RATE_LIMITED:
        ends = rate_limit_ends(snapshot)
        if ends is not None:
            return tr("{state} until {time}").format(state=state_text(state), time=clock_time_s(ends))
        if snapshot.fetched_at is not None:
            return tr("{state}, seen {time}").format(state=state_text(state), time=clock_time(snapshot.fetched_at))
    return state_word(snapshot)


# ------------------------------------------------------------------ badge numbers
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
            text = f"{round_down(scaled, 1):.1f}".rstrip("0").rstrip(".")
            return text + suffix
        if scaled < 1000:
            return f"{int(math.floor(scaled))}{suffix}"
    return "1T+"


def format_money(value: float | None, sign: str = "$") -> str:
    """Compact money for the badge, at most 4 characters where possible: $.42 $4.2 $12 $123 1.2K
    (¥4.2 for yuan: `sign` is the currency's one-character sign)."""
    if value is None or not math.isfinite(value):
        return "?"
    if value < 0:
        return f"-{sign}" + format_count(-value) if value <= -1 else f"{sign}0"
    if value == 0:
        return f"{sign}0"
    if value < 1:
        cents = int(round_down(value * 100))
        return f"{sign}.{cents:02d}"
    if value < 10:
        tenths = round_down(value, 1)
        return f"{sign}{int(tenths)}" if tenths.is_integer() else f"{sign}{tenths:.1f}"
    if value < 1000:
        return f"{sign}{int(math.floor(value))}"
    return format_count(value)


def narrow_sign(unit: Unit) -> str:
    """The badge's sign for a money unit: "$", "¥", "€"; the ISO code's first letter for others."""
    code = unit.currency or "USD"
    return narrow_currency_sign(code) or code[:1]


def badge_text(meter: Meter | None) -> str:
    """The badge's compact figure, with the language's decimal separator ("1,2K" in German)."""
    if meter is None:
        return "?"
    if meter.unit.is_money:
        return decimal_text(format_money(meter.remaining, narrow_sign(meter.unit)))
    if meter.unit is Unit.PERCENT and meter.remaining is not None and math.isfinite(meter.remaining):
        return f"{int(math.floor(max(0.0, meter.remaining)))}%"  # a share of the window left: "76%"
    return decimal_text(format_count(meter.remaining))


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


def short_error(snapshot: Snapshot) -> str | None:
    """The error's first line, shortened to fit a line, without its HTTP status."""
    if snapshot.error is None or not snapshot.error.message:
        return None
    return _clip(tr(snapshot.error.message).splitlines()[0].strip(), ERROR_IN_LINE_MAX) or None


def with_state(state: str, message: str | None) -> str:
    """"Rate limited (429) until 13:14:20: Hourly request limit exceeded"; a message that starts with the
    state's own word is said alone ("Offline: cannot resolve x", never "Offline: Offline: …")."""
    if not message:
        return state
    word = state.split(" (")[0].split(":")[0].strip()
    if word and message.lower().startswith(word.lower()):
        return message
    return tr("{state}: {message}").format(state=state, message=message)


def _clip(text: str, limit: int) -> str:
    """At most `limit` characters; a shortened text says so with "…"."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def status_text(snapshot: Snapshot) -> str:
    """"OK", "Rate limited (429) until 13:14:20: Hourly request limit exceeded", "OK · cached",
    "… · 2 streams running"."""
    text = account_state_text(snapshot)
    short = None if snapshot.state.is_fine else short_error(snapshot)
    if short and snapshot.state.is_blocked:
        text = short  # traywidget's own sentence, which names the block itself ("Blocked by the provider's firewall …")
    else:
        text = with_state(text, short)
    parts = [text]
    if snapshot.stale:
        parts.append(tr("cached"))
    if snapshot.streams:
        parts.append(streams_text(snapshot.streams))
    if snapshot.hold is not None:
        parts.append(held_text(snapshot.hold))
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
    approx = "≈ " if meter.estimated or meter.freshness is Freshness.REFILLED else ""
    if meter.capped:
        return f"{approx}{format_amount(meter.remaining, meter.unit)} / {format_amount(meter.limit, meter.unit)}"
    if meter.unit.is_money and meter.remaining is not None:
        return f"{approx}{format_amount(meter.remaining, meter.unit)}"
    if meter.used is not None:
        return tr("{amount} used · no cap").format(amount=approx + format_amount(meter.used, meter.unit))
    if meter.remaining is not None:
        return tr("{amount} left · no cap").format(amount=approx + format_amount(meter.remaining, meter.unit))
    return tr("no cap") if meter.limit is None else tr("unknown")


def meter_detail(meter: Meter, now: datetime, *, with_source: bool = True) -> str:
    """"Requests this hour: 420 of 500 left · resets 16:00"; "Requests this minute: ≈ 20 of 20 left ·
    refilled at its reset (estimate)"; "… · seen 2 min ago in your traffic" for a traffic reading
    (unless `with_source` is False: the account's age line says it already)."""
    if meter.remaining is None:
        line = left_text(meter)
    else:
        line = tr("{title}: {figure}").format(title=meter_title(meter), figure=_short_left(meter))
    parts = [line]
    when = freshness_text(meter) or reset_text(meter, now)
    if when:
        parts.append(when)
    if with_source and meter.source is Source.TRAFFIC and meter.seen_at is not None:
        parts.append(_seen_in_traffic(meter.seen_at, now))
    return " · ".join(parts)


def freshness_text(meter: Meter) -> str | None:
    """What a meter whose window reset after it was read says in place of its reset; None while current."""
    if meter.freshness is Freshness.REFILLED:
        return tr("refilled at its reset (estimate)")
    if meter.freshness is Freshness.EXPIRED:
        return tr("reset since it was read")
    return None


def _short_left(meter: Meter) -> str:
    approx = "≈ " if meter.estimated or meter.freshness is Freshness.REFILLED else ""
    amount = format_amount(meter.remaining, meter.unit)
    if meter.capped:
        return approx + tr("{left} of {limit} left").format(left=amount, limit=format_amount(meter.limit, meter.unit))
    return approx + tr("{amount} left").format(amount=amount)


def _seen_in_traffic(moment: datetime, now: datetime) -> str:
    return tr("seen {ago} in your traffic").format(ago=ago_text(moment, now))


def age_text(snapshot: Snapshot, now: datetime) -> str:
    """How old the account's figures are and where they came from, the same in the panel, the menu and
    `status`: "fetched 20 s ago" (a poll that worked), "seen 2 min ago in your traffic", "data from
    12:00" (the last poll failed), "saved 10 min ago, not refreshed yet" (cached at start-up)."""
    read, source = account_reading(snapshot)
    if read is None:
        failed = snapshot.fetched_at is not None and not snapshot.state.key_accepted and not snapshot.stale
        return tr("never fetched") if failed else tr("not fetched yet")
    if snapshot.stale:
        return tr("saved {ago}, not refreshed yet").format(ago=ago_text(read, now))
    if source is Source.TRAFFIC:
        return _seen_in_traffic(read, now)
    if not snapshot.state.key_accepted:  # the last poll failed: the figures are from an earlier one
        return tr("data from {time}").format(time=clock_text(read, now))
    return tr("fetched {ago}").format(ago=ago_text(read, now))


def ago_text(moment: datetime, now: datetime) -> str:
    """"just now", "12 s ago", "4 min ago"."""
    seconds = max(0.0, (now - moment).total_seconds())
    return tr("just now") if seconds < 2 else tr("{duration} ago").format(duration=format_duration(seconds))


def account_details(snapshot: Snapshot, now: datetime) -> list[str]:
    """What the account's submenu lists: provider and plan, every meter, streams, the error, notes, age."""
    provider = display_name(snapshot.provider)
    plan = tr(snapshot.plan) if snapshot.plan else None
    lines = [tr("{provider} · {plan}").format(provider=provider, plan=plan) if plan else provider]
    read, source = account_reading(snapshot)
    # A meter says where it was seen only when that differs from the account's age line (the last line).
    lines += [meter_detail(meter, now, with_source=(meter.source, read_at(snapshot, meter)) != (source, read))
              for meter in snapshot.meters]
    if snapshot.streams is not None:
        lines.append(streams_text(snapshot.streams))
    if snapshot.gateway_usage is not None and snapshot.gateway_usage.total.requests:
        lines.append(gateway_usage_text(snapshot.gateway_usage))
    error = error_text(snapshot)
    if error and not snapshot.state.is_fine:
        lines.append(tr("Last error: {message}").format(message=error))
    lines += [tr(note) for note in snapshot.notes]
    lines.append(age_text(snapshot, now))
    return lines


def held_text(hold: Hold) -> str:
    """"requests held until 15:30" · "requests held until you resume" (the gateway refuses them)."""
    if hold.until is None:
        return tr("requests held until you resume")
    return tr("requests held until {time}").format(time=clock_time(hold.until))


def held_sentence(hold: Hold) -> str:
    """"New requests through the gateway are held until 15:30." — said as a sentence of its own."""
    if hold.until is None:
        return tr("New requests through the gateway are held until you resume.")
    return tr("New requests through the gateway are held until {time}.").format(time=clock_time(hold.until))


def token_count(tokens: int) -> str:
    """"950 tokens" · "1.2 M tokens" · "34.5 k tokens"."""
    if tokens >= 1_000_000:
        return tr("{n} M tokens").format(n=number(tokens / 1_000_000, 1))
    if tokens >= 10_000:
        return tr("{n} k tokens").format(n=number(tokens / 1_000, 1))
    return trn("{n} token", "{n} tokens", tokens).format(n=number(tokens))


def gateway_usage_text(usage: GatewayUsage) -> str:
    """"via the gateway today: 41 requests, 1.2 M tokens, $0.84" — the cost only as reported:
    "cost not reported" when no answer carried one, "+ n not reported" when some did not."""
    total = usage.total
    parts = [trn("{n} request", "{n} requests", total.requests).format(n=number(total.requests)),
             token_count(total.tokens)]
    if total.cost is None:
        parts.append(tr("cost not reported"))
    else:
        cost = money(total.cost) if total.currency in (None, "USD") else f"{number(total.cost, 2)} {total.currency}"
        if total.cost_unreported:
            cost = trn("{cost} (+ {n} request without a reported cost)",
                       "{cost} (+ {n} requests without a reported cost)", total.cost_unreported).format(
                cost=cost, n=total.cost_unreported)
        parts.append(cost)
    if total.stopped:
        parts.append(trn("{n} stopped", "{n} stopped", total.stopped).format(n=total.stopped))
    return tr("via the gateway today: {figures}").format(figures=", ".join(parts))
