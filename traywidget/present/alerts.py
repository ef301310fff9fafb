"""Which notifications a new snapshot causes. Pure policy: no Qt, no I/O, no clock of its own.

The engine publishes a snapshot on every poll and on every response through
the gateway: a naive "notify when something is wrong" would storm the desktop.
This policy remembers, per account and per window, what it already said, and
only speaks on an edge — and never a storm, by design:

* a window used up (0 left) — once per window, re-armed when it resets or refills;
* a threshold crossed (20 % and 5 % left by default) — once per crossing, re-armed
  when the window resets or refills;
* per-minute windows raise neither: they refill before a person can act, and a
  refused request there arrives as a 429 anyway;
* a 429 — once per rate-limit episode (it ends at the next quota reading), and
  not when a window the user was already told is used up explains it;
* each of those at most once an hour per account and window (REPEAT_S), however
  often a window resets or refills in between;
* "requests go through again" — only after a refusal the user was told about
  that lasted RESTORE_AFTER_S or more (never after a passing per-minute 429);
* a rejected key or a payment error — when it starts, then at most once an hour
  while it lasts.

Snapshots loaded from the cache (stale) never alert and never change what the
policy remembers. Offline and server errors say nothing about the quota: they
neither start nor end an episode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from traywidget.i18n import enumeration, tr, tr_noop, trn
from traywidget.model import (
    HOLD_DAILY_CAP,
    HOLD_RESERVE,
    Hold,
    KillResult,
    Meter,
    Snapshot,
    State,
    Thresholds,
)
from traywidget.present.formatting import (
    format_amount,
    format_duration,
    left_text,
    percent_left,
    reset_text,
)
from traywidget.present.freshness import LIMIT_KIND_METERS
from traywidget.present.headline import pick_headline, refills_within_a_minute

# Kinds of alert (stable strings, usable as notification categories).
RATE_LIMITED = "rate_limited"
EXHAUSTED = "exhausted"
THRESHOLD = "threshold"
RESTORED = "restored"
AUTH_ERROR = "auth_error"
PAYMENT_REQUIRED = "payment_required"
BLOCKED = "blocked"
KILL_RESULT = "kill_result"
CONFIG_ERROR = "config_error"
GATEWAY_ERROR = "gateway_error"
HOLD = "hold"

# The same news about the same window at most this often.
REPEAT_S = 3600.0
# "Requests go through again" only after a refusal at least this long.
RESTORE_AFTER_S = 120.0
# A window whose reset time moves later by more than this has reset.
_RESET_JUMP = timedelta(seconds=30)

# The windows a 429's limit kind names (a daily 429 on free models is the free-model day).
_LIMIT_KIND_TITLE = {
    "minute": tr_noop("{account}: per-minute limit hit (429)"),
    "hourly": tr_noop("{account}: hourly limit hit (429)"),
    "hour": tr_noop("{account}: hourly limit hit (429)"),
    "daily": tr_noop("{account}: daily limit hit (429)"),
    "day": tr_noop("{account}: daily limit hit (429)"),
    "concurrent_streams": tr_noop("{account}: concurrent-stream limit hit (429)"),
    "ip": tr_noop("{account}: per-IP limit hit (429)"),
}


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
    # The user was told this window is used up, and it still is.
    announced_empty: bool = False
    resets_at: datetime | None = None


@dataclass
class _AccountMemory:
    rate_limited: bool = False
    rate_limit_announced: bool = False
    # The windows the announced 429 named: their being used up is no second news.
    rate_limit_windows: tuple[str, ...] = ()
    # When the refusal the user was last told about began; None when none is going on.
    refused_since: datetime | None = None
    auth_last_alert: datetime | None = None
    meters: dict[str, _MeterMemory] = field(default_factory=dict)
    # (kind, window, level) -> when it was last said: the once-an-hour rule.
    said: dict[tuple, datetime] = field(default_factory=dict)

    def may_say(self, key: tuple, now: datetime) -> bool:
        last = self.said.get(key)
        if last is not None and (now - last).total_seconds() < REPEAT_S:
            return False
        self.said[key] = now
        return True


class AlertPolicy:
    def __init__(
        self,
        thresholds: Thresholds = Thresholds(),
        auth_repeat_s: float = REPEAT_S,
        low_usd: float = 1.0,
    ) -> None:
        self.thresholds = thresholds
        self.auth_repeat_s = auth_repeat_s
        # Uncapped money meters (a balance with no known total) alert below this.
        self.low_usd = low_usd
        self._memory: dict[str, _AccountMemory] = {}
        # The rail hold each account was last told of (one notification per hold).
        self._holds_told: dict[str, Hold] = {}

    def set_thresholds(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds

    def forget(self, account_id: str) -> None:
        self._memory.pop(account_id, None)
        self._holds_told.pop(account_id, None)

    # ------------------------------------------------------------------ core
    def update(self, snapshot: Snapshot, now: datetime) -> list[Alert]:
        return self.hold_alerts(snapshot) + self._quota_alerts(snapshot, now)

    def hold_alerts(self, snapshot: Snapshot) -> list[Alert]:
        """A guard rail that starts holding the account: said once (a Kill's hold was the user's own click)."""
        hold = snapshot.hold
        if hold is None or hold.reason not in (HOLD_RESERVE, HOLD_DAILY_CAP):
            self._holds_told.pop(snapshot.account_id, None)
            return []
        if self._holds_told.get(snapshot.account_id) == hold:
            return []
        self._holds_told[snapshot.account_id] = hold
        until = (tr("until you resume") if hold.until is None
                 else tr("until {time}").format(time=hold.until.astimezone().strftime("%H:%M")))
        return [hold_alert(snapshot.label, hold.reason, until)]

    def _quota_alerts(self, snapshot: Snapshot, now: datetime) -> list[Alert]:
        if snapshot.stale:
            return []
        memory = self._memory.setdefault(snapshot.account_id, _AccountMemory())
        state = snapshot.state

        # A firewall's block lasts, like a rejected key, until the user changes something: said the same way.
        if (state.needs_user and state is not State.NO_KEY) or state.is_blocked:
            due = memory.auth_last_alert is None or (
                (now - memory.auth_last_alert).total_seconds() >= self.auth_repeat_s)
            if due:
                memory.auth_last_alert = now
                return [_auth_alert(snapshot)]
            return []
        if state.key_accepted:
            memory.auth_last_alert = None
        # Offline, a server error or no key says nothing about quota: no episode starts or ends.
        if not state.key_accepted:
            return []

        alerts: list[Alert] = []
        for meter in snapshot.meters:
            if not refills_within_a_minute(meter):
                alerts.extend(self._meter_alerts(snapshot, meter, memory, now))

        if state is State.RATE_LIMITED:
            if not memory.rate_limited:
                memory.rate_limited = True
                explained = any(m.announced_empty for m in memory.meters.values())
                kind = snapshot.error.limit_kind if snapshot.error else None
                if not explained and memory.may_say((RATE_LIMITED, kind), now):
                    memory.rate_limit_announced = True
                    memory.rate_limit_windows = LIMIT_KIND_METERS.get(kind or "", ())
                    memory.refused_since = memory.refused_since or now
                    alerts.append(_rate_limit_alert(snapshot, now))
        else:
            memory.rate_limited = memory.rate_limit_announced = False
            memory.rate_limit_windows = ()

        refused = memory.rate_limit_announced or any(m.announced_empty for m in memory.meters.values())
        if memory.refused_since is not None and not refused and state.is_fine:
            lasted = (now - memory.refused_since).total_seconds()
            memory.refused_since = None
            if lasted >= RESTORE_AFTER_S:
                alerts.append(_restored_alert(snapshot))
        return alerts

    # --------------------------------------------------------------- meters
    def _meter_alerts(self, snapshot: Snapshot, meter: Meter, memory: _AccountMemory, now: datetime) -> list[Alert]:
        mem = memory.meters.setdefault(meter.name, _MeterMemory())
        if mem.resets_at is not None and meter.resets_at is not None and meter.resets_at - mem.resets_at > _RESET_JUMP:
            mem.fired_levels.clear()  # a new window: everything may be said again (once an hour)
            mem.exhausted = mem.announced_empty = False
        if meter.resets_at is not None:
            mem.resets_at = meter.resets_at
        if meter.remaining is None:
            return []
        if meter.capped:
            levels = sorted(self.thresholds.levels, reverse=True)
            fraction = meter.fraction_left
            assert fraction is not None
        elif meter.unit.is_money:
            levels, fraction = [self.low_usd], meter.remaining
        else:
            return []

        out: list[Alert] = []
        if meter.remaining <= 0:
            if not mem.exhausted:
                mem.exhausted = True
                if memory.rate_limit_announced and meter.name in memory.rate_limit_windows:
                    mem.announced_empty = True  # the 429 about this very window said it already
                elif memory.may_say((EXHAUSTED, meter.name), now):
                    mem.announced_empty = True
                    memory.refused_since = memory.refused_since or now
                    out.append(_exhausted_alert(snapshot, meter, now))
            mem.fired_levels.update(levels)
            return out
        mem.exhausted = mem.announced_empty = False
        for level in list(mem.fired_levels):
            if fraction > level:
                mem.fired_levels.discard(level)  # back above: that level may be crossed again
        crossed = [level for level in levels if fraction <= level and level not in mem.fired_levels]
        if crossed:
            lowest = min(crossed)
            # Jumping past several levels at once says only the lowest.
            mem.fired_levels.update(level for level in levels if level >= lowest)
            if memory.may_say((THRESHOLD, meter.name, lowest), now):
                out.append(_threshold_alert(snapshot, meter, now, self.low_usd))
        return out


# ------------------------------------------------------------------ messages
def _reset_sentence(meter: Meter | None, now: datetime) -> str:
    """"Resets 16:00." (or "Resets in about 40 s."), or "" when the reset is unknown."""
    phrase = reset_text(meter, now) if meter is not None else None
    return tr("{reset}.").format(reset=phrase[0].upper() + phrase[1:]) if phrase else ""


def _sentences(*parts: str) -> str:
    """Sentences one after the other, as the language sets them (Chinese puts no space between) — but after a
    sentence left in English (a provider's own message), a space: "Rate limit exceeded. 20 秒后重试。"."""
    text = ""
    for part in parts:
        if not part:
            continue
        if not text:
            text = part
        elif text[-1].isascii():
            text = f"{text} {part}"
        else:
            text = tr("{sentence} {next}").format(sentence=text, next=part)
    return text


def _exhausted_alert(snapshot: Snapshot, meter: Meter, now: datetime) -> Alert:
    title = tr("{account}: {figure}").format(account=snapshot.label, figure=left_text(meter))
    if meter.unit.is_money and meter.resets_at is None:
        body = tr("Paid requests are refused until the account is topped up.")
    else:
        body = _sentences(tr("Requests are refused until the window resets."), _reset_sentence(meter, now))
    return Alert(EXHAUSTED, snapshot.account_id, title, body, meter.name)


def _threshold_alert(snapshot: Snapshot, meter: Meter, now: datetime, low_usd: float) -> Alert:
    title = tr("{account}: {figure}").format(account=snapshot.label, figure=left_text(meter))
    if meter.capped:
        figure = tr("{figure} ({percent}).").format(
            figure=left_text(meter, of_limit=True), percent=percent_left(meter))
    else:
        figure = tr("Less than {amount} left.").format(amount=format_amount(low_usd, meter.unit))
    return Alert(THRESHOLD, snapshot.account_id, title, _sentences(figure, _reset_sentence(meter, now)), meter.name)


def _rate_limit_alert(snapshot: Snapshot, now: datetime) -> Alert:
    error = snapshot.error
    kind = error.limit_kind if error else None
    title = tr(_LIMIT_KIND_TITLE.get(kind or "", tr_noop("{account}: rate limited (429)"))).format(
        account=snapshot.label)
    message = tr(error.message).splitlines()[0].strip().rstrip(".") + "." if error and error.message else ""
    meter = next((m for name in LIMIT_KIND_METERS.get(kind or "", ()) if (m := snapshot.meter(name))), None)
    meter_name = meter.name if meter is not None else None
    when = _reset_sentence(meter, now)
    if not when and error is not None and error.retry_after_s is not None:
        when = tr("Retry in {duration}.").format(duration=format_duration(error.retry_after_s))
    body = _sentences(message, when) or tr("Too many requests.")
    return Alert(RATE_LIMITED, snapshot.account_id, title, body, meter_name)


def _restored_alert(snapshot: Snapshot) -> Alert:
    headline = pick_headline([snapshot])
    body = (tr("{figure}.").format(figure=left_text(headline.meter)) if headline is not None
            else tr("Requests are going through again."))
    return Alert(RESTORED, snapshot.account_id, tr("{account}: requests go through again").format(
        account=snapshot.label), body)


def _auth_alert(snapshot: Snapshot) -> Alert:
    first_line = tr(snapshot.error.message).splitlines()[0][:200] if snapshot.error and snapshot.error.message else ""
    if snapshot.state is State.BLOCKED:
        return Alert(BLOCKED, snapshot.account_id,
                     tr("{account}: blocked by the provider's firewall").format(account=snapshot.label),
                     first_line or tr("A firewall in front of the provider refused this client, not the key."))
    if snapshot.state is State.PAYMENT_REQUIRED:
        return Alert(PAYMENT_REQUIRED, snapshot.account_id,
                     tr("{account}: payment required").format(account=snapshot.label),
                     first_line or tr("The provider refuses requests until the account is topped up."))
    return Alert(AUTH_ERROR, snapshot.account_id, tr("{account}: key rejected").format(account=snapshot.label),
                 first_line or tr("The provider rejected the API key. Check it in Settings."))


def kill_summary(results: list[KillResult], labels: Mapping[str, str],
                 through_gateway: Mapping[str, int] | None = None,
                 has_kill_api: Mapping[str, bool] | None = None,
                 providers: Mapping[str, str] | None = None) -> Alert:
    """The one notification after "Kill all streams", saying only what is true: the streams the
    gateway stopped (per account), the ones a provider's kill API stopped (routing.run), and that
    streams a tool opened directly to a provider with no kill API cannot be stopped from here.

    `through_gateway`: streams the gateway stopped per account (included in `results`' counts);
    `has_kill_api`: whether each account's provider has a kill API (default: the result says);
    `providers`: each account's provider as people name it, for the streams that cannot be stopped (they
    are the provider's; default: the account's label)."""
    through = {a: n for a, n in (through_gateway or {}).items() if n > 0}

    def name(account_id: str) -> str:
        return labels.get(account_id, account_id)

    by_api = []
    for r in results:
        n = (r.killed_streams or 0) - through.get(r.account_id, 0)
        if r.supported and r.error is None and n > 0:
            by_api.append((name(r.account_id), n))
    failed = [r for r in results if r.supported and r.error is not None]
    api = has_kill_api if has_kill_api is not None else {r.account_id: r.supported for r in results}
    direct: list[str] = []
    for r in results:
        provider = (providers or {}).get(r.account_id) or name(r.account_id)
        if not api.get(r.account_id, r.supported) and provider not in direct:
            direct.append(provider)
    parts: list[str] = []
    gateway_total = sum(through.values())
    if gateway_total:
        order = [r.account_id for r in results if r.account_id in through]  # the accounts' own order
        order += [a for a in through if a not in order]
        per_account = enumeration(tr("{account} {n}").format(account=name(a), n=through[a]) for a in order)
        parts.append(trn("{n} stream through the gateway ({accounts})", "{n} streams through the gateway ({accounts})",
                         gateway_total).format(n=gateway_total, accounts=per_account))
    for label, n in by_api:
        if parts:  # "… and 2 on routing.run": the noun was said once
            parts.append(trn("{n} on {account}", "{n} on {account}", n).format(n=n, account=label))
        else:
            parts.append(trn("{n} stream on {account}", "{n} streams on {account}", n).format(n=n, account=label))
    total = gateway_total + sum(n for _, n in by_api)
    if total:
        # The count of streams decides the verb's form in some languages ("Se detuvo 1 stream").
        streams = _joined(parts, tr("{items} and {item}"))
        title = trn("Stopped {streams}", "Stopped {streams}", total).format(streams=streams)
    elif failed:
        title = tr("No streams stopped")
    else:
        title = tr("No streams were running")
    lines: list[str] = []
    if direct:
        lines.append(tr("Streams your tools opened directly to {accounts} cannot be stopped from here.").format(
            accounts=_joined(direct, tr("{items} or {item}"))))
    for result in failed:
        assert result.error is not None  # failed holds only results with an error
        lines.append(tr("{account}: {message}").format(
            account=name(result.account_id), message=tr(result.error.message)))
    if not results:
        lines.append(tr("No accounts configured."))
    return Alert(KILL_RESULT, "", title, "\n".join(lines))


def _joined(items: list[str], last: str) -> str:
    """"a, b and c" (or "or"): `last` joins the final item, the language's comma the others."""
    if len(items) <= 1:
        return "".join(items)
    return last.format(items=enumeration(items[:-1]), item=items[-1])


def hold_alert(account_label: str, reason: str, until_text: str) -> Alert:
    """A guard rail held an account's gateway traffic: which rail, until when, how to resume."""
    if reason == HOLD_DAILY_CAP:
        why = tr("{account}: held at its daily spend cap").format(account=account_label)
    else:
        why = tr("{account}: held to keep its reserve").format(account=account_label)
    body = tr("New requests through the gateway are refused {until}. Resume with \"Resume requests\" in the "
              "tray menu or: traywidget resume").format(until=until_text)
    return Alert(HOLD, "", why, body)


def kill_failed(message: str) -> Alert:
    return Alert(KILL_RESULT, "", tr("Kill all streams failed"), message)


def config_alert(message: str) -> Alert:
    """A settings file that could not be read: said where the user looks, not only in the panel."""
    return Alert(CONFIG_ERROR, "", tr("Traywidget: the settings file could not be read"), message)


def gateway_alert(message: str) -> Alert:
    """The local gateway was turned on but could not start (a taken port, a keyring problem)."""
    return Alert(GATEWAY_ERROR, "", tr("Traywidget: the local gateway is not running"), message)


def gateway_notice_alert(message: str) -> Alert:
    """The local gateway started, but only on 127.0.0.1: [::1] on its port is another program's."""
    return Alert(GATEWAY_ERROR, "", tr("Traywidget: the local gateway listens on 127.0.0.1 only"), message)
