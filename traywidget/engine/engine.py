"""The polling engine: one HTTP client, one task per account, every key in one read.

The engine orchestrates; the rules live beside it. Each account has a task
that waits until the account is due (engine/schedule.py decides when and
whether the poll is full), reads the keys (all accounts' keys in one keyring
round trip, kept `key_reread_s`), sends the provider's requests through the
one HTTP layer (engine/http_client.py), turns the answers into a snapshot
(engine/readings.py merges meters and derives the state) and publishes it.

The local gateway hands the engine what it sees in the user's own traffic
(`observe`: rate-limit headers as meters, a refusal with the provider's
message; `set_streams`: how many streams are open), and those update the
account at once through the same snapshot and publish path as a poll.

Accounts never wait on each other: each runs in its own task, and a poll is
bounded in time by the HTTP layer. The engine knows nothing of Qt: views
subscribe to snapshots. Every public method is called from the one event
loop the engine runs on (`EngineControl` in engine/engine_control.py is what views use).

Longer than most modules because it is one thing: each account's loop (keys, poll, publish) and the few
commands the views send it. What it decides by is elsewhere: when to poll (schedule.py), how readings
merge (readings.py) and how they age (present/freshness.py), what a response means (providers/).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType

import httpx

from traywidget.engine import schedule
from traywidget.engine.engine_control import SnapshotCallback
from traywidget.engine.http_client import fetch, join_url, make_client
from traywidget.engine.readings import merge_poll, merge_traffic
from traywidget.engine.schedule import AccountSchedule, Cadence, requests_budget_per_hour
from traywidget.i18n import Phrase, tr_noop
from traywidget.model import (
    KEYRING_ERROR_CODE,
    Account,
    ErrorInfo,
    GatewayUsage,
    Hold,
    HttpResult,
    KillResult,
    Meter,
    ProviderError,
    SecretStoreError,
    Snapshot,
    State,
    Thresholds,
    TrafficObservation,
    utcnow,
)
from traywidget.present import freshness
from traywidget.present.freshness import quota_state
from traywidget.providers import get_provider
from traywidget.providers.base import (
    Credential,
    KeyHint,
    PollContext,
    Provider,
    Reading,
    RequestSpec,
    request_base,
)
from traywidget.providers.scrub import scrub_refusal
from traywidget.store.config import Settings
from traywidget.store.key_cache import KeyCache
from traywidget.store.secrets import SecretStore, key_name

__all__ = ["Cadence", "Engine", "EngineSettings", "requests_budget_per_hour"]

log = logging.getLogger(__name__)

NO_KEY_MESSAGE = tr_noop("No API key saved for {label}. "
                         "Set one in Settings or with `traywidget keys set {account_id}`.")
NO_MANAGEMENT_KEY_MESSAGE = tr_noop("No management key saved")
INTERNAL_ERROR_MESSAGE = tr_noop("Internal error while polling (details in the log)")
REFUSED_MESSAGE = tr_noop("The provider refused a request")
# The expiry timer fires this much after the moment (the wall clock and the loop's clock differ a little).
EXPIRY_SLACK_S = 0.005


@dataclass(frozen=True)
class EngineSettings:
    thresholds: Thresholds = Thresholds()
    cadence: Cadence = Cadence()
    timeout_s: float = 15.0
    # Wall clock minus monotonic clock jumping by more than this means the
    # machine slept: timers are stale, poll now.
    resume_jump_s: float = 30.0
    watchdog_s: float = 15.0

    def with_user_settings(self, settings: Settings) -> EngineSettings:
        """These settings with the user's thresholds and cadence (config file / settings dialog)."""
        return replace(
            self,
            thresholds=settings.thresholds,
            cadence=replace(self.cadence, fast_s=settings.fast_interval_s, full_s=settings.full_interval_s),
        )


@dataclass(eq=False)
class _Account:
    """One account while the engine runs: what it is, where its schedule stands, its task."""

    account: Account
    provider: Provider
    schedule: AccountSchedule = field(default_factory=AccountSchedule)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    task: asyncio.Task | None = None
    # Keys read before this (monotonic) will not do: after a rejected or
    # missing key the user may be fixing it right now.
    keys_wanted_after: float | None = None
    # When the polled meters were fetched (wall clock): what a traffic
    # reading of the same meter is compared with.
    polled_at: datetime | None = None
    streams: int | None = None
    # What the gateway says of the account: held (and until when), and today's traffic through it.
    hold: Hold | None = None
    gateway_usage: GatewayUsage | None = None
    # The state and error shown came from the user's traffic, not a poll.
    traffic_refusal: bool = False
    seen_traffic: bool = False
    # What the last poll knew (its standing notes depend on it).
    context: PollContext | None = None


@dataclass(frozen=True)
class _Outcome:
    """What one poll learned, before it meets what the account shows already."""

    # True when usage was read (the meters are new); False when the poll
    # failed and the last known meters stay, with the error beside them.
    read: bool
    state: State | None = None  # None: a quota reading, derived from the meters
    error: ErrorInfo | None = None
    meters: tuple[Meter, ...] = ()
    plan: str | None = None
    notes: tuple[str, ...] = ()
    # A Retry-After on an optional request holds for the whole account.
    hold_off_s: float | None = None

    @classmethod
    def failed(cls, state: State, error: ErrorInfo, notes: Iterable[str] = (),
               hold_off_s: float | None = None) -> _Outcome:
        return cls(read=False, state=state, error=error, notes=tuple(notes), hold_off_s=hold_off_s)


class Engine:
    def __init__(
        self,
        accounts: Iterable[Account],
        secrets: SecretStore,
        *,
        client: httpx.AsyncClient | None = None,
        settings: EngineSettings = EngineSettings(),
        now: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self._keys = KeyCache(secrets)
        self._client = client
        self._owns_client = client is None
        self._now = now
        self._monotonic = monotonic
        self._rng = rng or random.Random()
        self._subscribers: list[SnapshotCallback] = []
        self._accounts: dict[str, _Account] = {}
        self._snapshots: dict[str, Snapshot] = {}
        self._running = False
        self._resume = asyncio.Event()
        self._resume.set()
        self._watchdog: asyncio.Task | None = None
        # The one wake-up at the next moment a reading expires or a 429 stops holding (present/freshness.py).
        self._expiry: asyncio.TimerHandle | None = None
        for account in accounts:
            self._accounts[account.id] = _Account(account, get_provider(account.provider))

    # --- public interface -------------------------------------------------

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = make_client()
        return self._client

    @property
    def accounts(self) -> list[Account]:
        return [rt.account for rt in self._accounts.values()]

    @property
    def snapshots(self) -> Mapping[str, Snapshot]:
        return MappingProxyType(self._snapshots)

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    def subscribe(self, callback: SnapshotCallback) -> None:
        self._subscribers.append(callback)

    def seed(self, snapshots: Iterable[Snapshot]) -> None:
        """Show cached values (stale) before the first poll; they never schedule anything."""
        for snap in snapshots:
            rt = self._accounts.get(snap.account_id)
            if rt is not None and snap.account_id not in self._snapshots:
                self._publish(snap.with_changes(stale=True, streams=rt.streams, hold=rt.hold,
                                                gateway_usage=rt.gateway_usage))

    async def start(self) -> None:
        if self._running:
            return
        self._running = True
        for rt in self._accounts.values():
            self._start_account(rt)
        self._watchdog = asyncio.get_running_loop().create_task(self._watch_for_resume(), name="engine-watchdog")

    async def stop(self) -> None:
        self._running = False
        tasks = [rt.task for rt in self._accounts.values() if rt.task]
        if self._watchdog:
            tasks.append(self._watchdog)
        for task in tasks:
            task.cancel()
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        await asyncio.gather(*tasks, return_exceptions=True)
        for rt in self._accounts.values():
            rt.task = None
        self._watchdog = None
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def poll_all(self) -> list[Snapshot]:
        """One concurrent full poll of every account (what `traywidget status` does)."""
        return list(await asyncio.gather(*(self._poll(rt, full=True) for rt in self._accounts.values())))

    async def refresh_now(self) -> None:
        """Ask every account to poll now; Retry-After still holds."""
        self.wake()

    def wake(self) -> None:
        """After a resume, a network change or a user's refresh: poll promptly."""
        now = self._monotonic()
        for rt in self._accounts.values():
            rt.schedule = schedule.poll_now(rt.schedule, now)
            rt.wake.set()

    def pause(self) -> None:
        self._resume.clear()

    def resume(self) -> None:
        if not self._resume.is_set():
            self._resume.set()
            self.wake()

    def apply_settings(self, settings: Settings) -> None:
        """The user's thresholds and cadences, from the next poll on."""
        self.settings = self.settings.with_user_settings(settings)

    def set_accounts(self, accounts: Iterable[Account]) -> None:
        """Apply an edited account list: new accounts start, removed ones stop, keys are read again."""
        self._keys.forget()  # an edit may have changed keys too
        wanted = {a.id: a for a in accounts}
        for account_id in list(self._accounts):
            if account_id not in wanted:
                gone = self._accounts.pop(account_id)
                if gone.task:
                    gone.task.cancel()
                self._snapshots.pop(account_id, None)
        for account_id, account in wanted.items():
            rt = self._accounts.get(account_id)
            if rt is not None and rt.account == account:
                rt.wake.set()
                continue
            old = rt
            if old is not None and old.task:
                old.task.cancel()
            rt = _Account(account, get_provider(account.provider))
            if old is not None:
                # What the gateway told of this account stays true across an edit.
                rt.streams, rt.seen_traffic = old.streams, old.seen_traffic
                rt.hold, rt.gateway_usage = old.hold, old.gateway_usage
            self._accounts[account_id] = rt
            if self._running:
                self._start_account(rt)

    async def kill_all(self, accounts: Iterable[str] | None = None) -> list[KillResult]:
        """Stop every active stream on every account that can (of `accounts` only, when given), concurrently.

        A kill is the user's explicit action, so it is sent even while polling
        is paused or waiting out a Retry-After on the usage endpoints.
        """
        chosen = None if accounts is None else set(accounts)
        return list(await asyncio.gather(*(self._kill(rt) for rt in self._accounts.values()
                                           if chosen is None or rt.account.id in chosen)))

    async def test_connection(self, account: Account, api_key: str, management_key: str | None = None) -> Snapshot:
        """Poll an account once with keys that are not saved yet (settings' "Test connection")."""
        rt = _Account(account, get_provider(account.provider))
        started = self._now()
        outcome = await self._outcome(rt, True, given_keys=(api_key, management_key))
        return self._snapshot_after_poll(rt, outcome, full=True, started=started, previous=None)

    def observe(self, observation: TrafficObservation) -> None:
        """What the gateway saw in one response to the user's own traffic: the account updates at once.

        Traffic meters merge with polled ones (one per name, the newer wins).
        A refusal (429, 402, a rejected key) becomes the account's state with
        the provider's message, and its Retry-After holds for polling too. A
        good answer clears a refusal, as a poll would; a poll's own failure
        (no key, offline, a server error) stands until a poll says otherwise.
        """
        rt = self._accounts.get(observation.account_id)
        if rt is None:
            log.debug("Traffic observation for an unknown account ignored")
            return
        previous = self._snapshots.get(rt.account.id)
        meters = merge_traffic(previous.meters if previous else (), observation.meters, polled_at=rt.polled_at)
        notes = previous.notes if previous else ()
        if not rt.seen_traffic:
            rt.seen_traffic = True
            notes = self._notes_after_first_traffic(rt, notes)
        if observation.state is not None and not observation.state.is_quota_reading:
            state = observation.state
            error = observation.error or ErrorInfo(message=REFUSED_MESSAGE)
            rt.traffic_refusal = True
            now = self._monotonic()
            if error.retry_after_s is not None:
                rt.schedule = schedule.hold_off(rt.schedule, self._cadence(rt), error.retry_after_s, now)
            if state is State.AUTH_ERROR:  # the user may be fixing the key right now
                rt.keys_wanted_after = now
        elif (previous is None or previous.stale or rt.traffic_refusal or previous.state.key_accepted
              or previous.state is State.PAYMENT_REQUIRED):
            state, error = quota_state(meters, self.settings.thresholds, self._now()), None
            rt.traffic_refusal = False
        else:
            state, error = previous.state, previous.error
        self._publish(self._snapshot(
            rt, state, meters=meters, error=error,
            plan=previous.plan if previous else None,
            notes=notes,
            fetched_at=observation.seen_at,
        ))

    def _notes_after_first_traffic(self, rt: _Account, notes: tuple[str, ...]) -> tuple[str, ...]:
        """The provider's standing notes as they read once traffic was seen ("numbers appear after the
        first request through the gateway" goes); the poll's other notes stay."""
        if rt.context is None:
            return notes
        before = rt.provider.notes(rt.context)
        after = rt.provider.notes(replace(rt.context, seen_traffic=True))
        return (*after, *(note for note in notes if note not in before))

    def set_streams(self, account_id: str, count: int | None) -> None:
        """Streams open right now through the gateway for this account (None: no gateway runs)."""
        if count is not None and count < 0:
            raise ValueError(f"a stream count cannot be negative ({count})")
        self._gateway_says(account_id, "streams", count)

    def set_hold(self, account_id: str, hold: Hold | None) -> None:
        """The gateway holds this account's requests (None: it does not, or no longer)."""
        self._gateway_says(account_id, "hold", hold)

    def set_gateway_usage(self, account_id: str, usage: GatewayUsage | None) -> None:
        """Today's traffic of this account through the gateway."""
        self._gateway_says(account_id, "gateway_usage", usage)

    def _gateway_says(self, account_id: str, name: str, value: object) -> None:
        """Keep what the gateway said of an account (`name`: a field of its runtime and of its snapshot)
        and publish the account with it, when it changed."""
        rt = self._accounts.get(account_id)
        if rt is None or getattr(rt, name) == value:
            return
        setattr(rt, name, value)
        previous = self._snapshots.get(account_id)
        if previous is not None:
            self._publish(previous.with_changes(**{name: value}))

    # --- scheduling -------------------------------------------------------

    def _cadence(self, rt: _Account) -> Cadence:
        return schedule.for_account(self.settings.cadence, rt.account.fast_interval_s, rt.account.full_interval_s)

    def _start_account(self, rt: _Account) -> None:
        rt.task = asyncio.get_running_loop().create_task(self._run_account(rt), name=f"poll-{rt.account.id}")

    async def _run_account(self, rt: _Account) -> None:
        while self._running:
            await self._resume.wait()
            now = self._monotonic()
            due = schedule.due_at(rt.schedule)
            if due > now:
                rt.wake.clear()
                try:
                    await asyncio.wait_for(rt.wake.wait(), timeout=due - now)
                except TimeoutError:
                    pass
                continue  # re-evaluate: a wake may have moved the schedule, Retry-After still holds
            if self.paused:
                continue
            try:
                await self._poll(rt, full=schedule.next_poll_is_full(rt.schedule, now))
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not kill the account's loop: log it, back off, go on
                log.exception("Unexpected error while polling %s", rt.account.id)
                rt.schedule = schedule.after_error(rt.schedule, self._cadence(rt), retry_after_s=None,
                                                   now=self._monotonic(), rng=self._rng)

    async def _watch_for_resume(self) -> None:
        """Detect a suspend/resume (or a big clock jump) and refresh promptly."""
        offset = self._now().timestamp() - self._monotonic()
        while self._running:
            await asyncio.sleep(self.settings.watchdog_s)
            new_offset = self._now().timestamp() - self._monotonic()
            if abs(new_offset - offset) > self.settings.resume_jump_s:
                log.info("Clock jumped by %.0f s (resume from sleep?): refreshing", new_offset - offset)
                self.wake()
            offset = new_offset

    def _schedule_after_poll(
        self, rt: _Account, snap: Snapshot, outcome: _Outcome, full: bool, previous: Snapshot | None
    ) -> None:
        now = self._monotonic()
        if snap.state in (State.NO_KEY, State.AUTH_ERROR) or (snap.error and snap.error.code == KEYRING_ERROR_CODE):
            rt.keys_wanted_after = now
        cadence = self._cadence(rt)
        current = rt.schedule
        if outcome.hold_off_s is not None:
            current = schedule.hold_off(current, cadence, outcome.hold_off_s, now)
        rt.schedule = schedule.after_poll(
            current, cadence,
            state=snap.state,
            retry_after_s=snap.error.retry_after_s if snap.error else None,
            meters=snap.meters,
            changed=previous is None or previous.content_key() != snap.content_key(),
            full=full,
            now=now,
            wall_now=self._now(),
            rng=self._rng,
        )

    # --- one poll ---------------------------------------------------------

    async def _keys_of(self, rt: _Account) -> tuple[str | None, str | None]:
        keys = await self._keys.keys(
            list(self._accounts), now=self._monotonic(), max_age=self.settings.cadence.key_reread_s,
            read_after=rt.keys_wanted_after,
        )
        return keys.get(key_name(rt.account.id)), keys.get(key_name(rt.account.id, True))

    async def _poll(self, rt: _Account, full: bool) -> Snapshot:
        async with rt.lock:
            started = self._now()
            outcome = await self._outcome(rt, full)
            # No await from here on: an observation cannot slip in between.
            previous = self._snapshots.get(rt.account.id)
            snap = self._snapshot_after_poll(rt, outcome, full=full, started=started, previous=previous)
            rt.traffic_refusal = False  # the state shown is this poll's now
            if outcome.read:
                rt.polled_at = snap.fetched_at
            self._schedule_after_poll(rt, snap, outcome, full, previous)
            return self._publish(snap)

    async def _outcome(
        self, rt: _Account, full: bool, given_keys: tuple[str | None, str | None] | None = None
    ) -> _Outcome:
        try:
            api_key, management_key = given_keys if given_keys is not None else await self._keys_of(rt)
            if not api_key:
                message = Phrase(NO_KEY_MESSAGE, label=rt.account.label, account_id=rt.account.id)
                return _Outcome.failed(State.NO_KEY, ErrorInfo(message=message, code="NO_KEY"))
            return await self._read_usage(rt, full, api_key, management_key)
        except SecretStoreError as exc:
            return _Outcome.failed(State.ERROR, ErrorInfo(message=str(exc), code=KEYRING_ERROR_CODE))
        except Exception:  # a bug (e.g. in an adapter) must show as this account's error, not vanish
            log.exception("Unexpected error while polling %s", rt.account.id)
            return _Outcome.failed(State.ERROR, ErrorInfo(message=INTERNAL_ERROR_MESSAGE, code="INTERNAL_ERROR"))

    async def _read_usage(self, rt: _Account, full: bool, api_key: str, management_key: str | None) -> _Outcome:
        provider = rt.provider
        ctx = PollContext(now=self._now(), has_management_key=bool(management_key), key_hint=KeyHint.of(api_key),
                          seen_traffic=rt.seen_traffic, base_url=rt.account.base_url)
        rt.context = ctx
        notes = list(provider.notes(ctx))
        readings: list[Reading] = []
        hold_off: float | None = None
        # One request after another: a poll reuses one kept-alive connection
        # per host, and a failed required request spares the rest.
        for spec in provider.poll_requests(full, ctx):
            try:
                result = await self._request(rt, spec, ctx, api_key, management_key)
                readings.append(provider.parse(spec, result, ctx))
            except ProviderError as exc:
                if not spec.optional:
                    return _Outcome.failed(exc.state, exc.info, notes, hold_off)
                notes.append(f"{spec.name}: {exc.info.message}")
                if exc.info.retry_after_s is not None:
                    hold_off = max(hold_off or 0.0, exc.info.retry_after_s)
        meters: dict[str, Meter] = {}
        for reading in readings:
            meters.update((m.name, m) for m in reading.meters)
            notes.extend(n for n in reading.notes if n not in notes)
        plan = next((r.plan for r in reversed(readings) if r.plan), None)
        limited = next((r.rate_limited for r in readings if r.rate_limited), None)
        unpaid = next((r.payment_required for r in readings if r.payment_required), None)
        return _Outcome(
            read=True,
            state=State.PAYMENT_REQUIRED if unpaid is not None else State.RATE_LIMITED if limited is not None else None,
            error=unpaid or limited,
            meters=tuple(meters.values()),
            plan=plan,
            notes=tuple(notes),
            hold_off_s=hold_off,
        )

    async def _request(
        self, rt: _Account, spec: RequestSpec, ctx: PollContext, api_key: str, management_key: str | None
    ) -> HttpResult:
        """One of the provider's requests, signed with the key it names; a refusal raises its ProviderError."""
        secret = management_key if spec.credential is Credential.MANAGEMENT else api_key
        if not secret:
            raise ProviderError(State.NO_KEY, ErrorInfo(message=NO_MANAGEMENT_KEY_MESSAGE, code="NO_KEY"))
        headers = {**rt.provider.extra_headers, **rt.provider.auth_headers(secret)}
        if rt.account.user_agent:
            # The account's own choice (a WAF in front of its provider refused the default one).
            headers["User-Agent"] = rt.account.user_agent
        url = join_url(request_base(rt.account.base_url, spec), spec.path)
        result = await fetch(self.client, spec.method, url, headers, timeout_s=self.settings.timeout_s)
        log.debug("%s %s %s -> %d", rt.account.id, spec.method, spec.name, result.status)
        if not result.ok:
            raise rt.provider.refusal(spec, scrub_refusal(result, (api_key, management_key or "")), ctx)
        return result

    async def _kill(self, rt: _Account) -> KillResult:
        spec = rt.provider.kill_request()
        if spec is None:
            return KillResult(rt.account.id, supported=False)
        try:
            api_key, management_key = await self._keys_of(rt)
            if not api_key:
                return KillResult(rt.account.id, True, error=ErrorInfo(
                    message=Phrase(NO_KEY_MESSAGE, label=rt.account.label, account_id=rt.account.id), code="NO_KEY"))
            result = await self._request(rt, spec, PollContext(now=self._now()), api_key, management_key)
            killed = rt.provider.parse_kill(result)
        except ProviderError as exc:
            return KillResult(rt.account.id, True, error=exc.info)
        except SecretStoreError as exc:
            return KillResult(rt.account.id, True, error=ErrorInfo(message=str(exc), code=KEYRING_ERROR_CODE))
        log.info("Stopped %d stream(s) on %s", killed, rt.account.id)
        if killed:  # counters just changed: refresh soon (Retry-After still holds)
            rt.schedule = schedule.poll_fast_now(rt.schedule, self._monotonic())
            rt.wake.set()
        return KillResult(rt.account.id, True, killed_streams=killed)

    # --- snapshots --------------------------------------------------------

    def _snapshot_after_poll(
        self, rt: _Account, outcome: _Outcome, *, full: bool, started: datetime, previous: Snapshot | None
    ) -> Snapshot:
        if not outcome.read:  # the last known meters stay visible, with the error beside them
            return self._snapshot(
                rt, outcome.state or State.ERROR, error=outcome.error, notes=outcome.notes,
                meters=previous.meters if previous else (), plan=previous.plan if previous else None,
            )
        meters = merge_poll(previous.meters if previous else (), outcome.meters, full=full, started_at=started)
        state = outcome.state or quota_state(meters, self.settings.thresholds, self._now())
        plan = outcome.plan or (previous.plan if previous else None)
        return self._snapshot(rt, state, error=outcome.error, meters=meters, plan=plan, notes=outcome.notes)

    def _snapshot(
        self,
        rt: _Account,
        state: State,
        *,
        meters: tuple[Meter, ...],
        plan: str | None,
        notes: Iterable[str],
        error: ErrorInfo | None = None,
        fetched_at: datetime | None = None,
    ) -> Snapshot:
        return Snapshot(
            account_id=rt.account.id,
            provider=rt.provider.id,
            label=rt.account.label,
            state=state,
            plan=plan,
            meters=meters,
            error=error,
            fetched_at=fetched_at or self._now(),
            notes=tuple(notes),
            supports_kill=rt.provider.supports_kill,
            streams=rt.streams,
            hold=rt.hold,
            gateway_usage=rt.gateway_usage,
        )

    def _publish(self, snap: Snapshot) -> Snapshot:
        """Store and hand out the account as it stands now (aged by present.freshness), and set the
        wake-up for the next moment it will read differently."""
        snap = freshness.at(snap, self._now(), self.settings.thresholds)
        self._snapshots[snap.account_id] = snap
        for callback in list(self._subscribers):
            try:
                callback(snap)
            except Exception:
                log.exception("A snapshot subscriber failed")
        self._arm_expiry()
        return snap

    def _arm_expiry(self) -> None:
        """One timer to the next expiry of any account's reading: time moves the output, not only traffic."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        now = self._now()
        moment = freshness.next_change(self._snapshots.values(), now)
        if moment is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # published before the loop runs (cached values): the first poll arms it
            return
        delay = (moment - now).total_seconds() + EXPIRY_SLACK_S
        self._expiry = loop.call_later(delay, self._expire)

    def _expire(self) -> None:
        """A reading reached its reset (or a 429 its end): publish what every changed account says now."""
        self._expiry = None
        now = self._now()
        for snap in list(self._snapshots.values()):
            if freshness.at(snap, now, self.settings.thresholds) is not snap:
                self._publish(snap)
        self._arm_expiry()

