"""The polling engine: one HTTP client, one scheduler task per account.

Each account has a fast cadence (a small endpoint, where the provider has one)
and a full cadence (everything). The schedule adapts:
- slower while nothing changes (up to `quiet_max_factor` times the cadence),
- faster while a window is near exhaustion,
- a poll right after a known (non-rolling) window reset,
- never a request before a server-given Retry-After has passed,
- exponential backoff with jitter on repeated errors.

Accounts never wait on each other: each runs in its own task, and a poll is
bounded in time by the HTTP layer. The engine knows nothing of Qt: views
subscribe to snapshots.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Callable, Iterable

import httpx

from traywidget.core.config import Settings
from traywidget.core.http import fetch, join_url, make_client
from traywidget.core.secrets import SecretStore
from traywidget.model import (
    Account,
    ErrorInfo,
    KillResult,
    Meter,
    ProviderError,
    SecretStoreError,
    Snapshot,
    State,
    Thresholds,
    Unit,
    utcnow,
)
from traywidget.providers import get_provider
from traywidget.providers.base import (
    Credential,
    KeyHint,
    PollContext,
    Provider,
    Reading,
    RequestSpec,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cadence:
    """Every scheduling constant in one place (seconds)."""

    fast_s: float = 60.0
    full_s: float = 300.0
    # After this many unchanged polls in a row the interval doubles, up to the max factor.
    quiet_polls_per_step: int = 3
    quiet_max_factor: float = 4.0
    # A window with at most this fraction left is polled at `near_s`.
    near_fraction: float = 0.10
    near_s: float = 20.0
    # Poll this long after a known reset, so the provider has rolled over.
    reset_grace_s: float = 2.0
    backoff_base_s: float = 15.0
    backoff_max_s: float = 900.0
    # A Retry-After beyond this is treated as this (a broken header must not silence an account forever).
    retry_after_cap_s: float = 86400.0
    # How long to wait before re-reading the keyring for an account with no key.
    no_key_recheck_s: float = 300.0
    # Keys read from the keyring are reused this long (and re-read at once
    # after an auth error, or when the account is edited).
    key_reread_s: float = 1800.0


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


def requests_budget_per_hour(cadence: Cadence = Cadence()) -> float:
    """Worst-case usage-endpoint requests per account per hour at this cadence
    while nothing is near exhaustion and nothing fails (documented in README)."""
    return 3600.0 / cadence.fast_s + 3600.0 / cadence.full_s


@dataclass
class _Runtime:
    """Scheduling state of one account (monotonic times)."""

    account: Account
    provider: Provider
    next_fast: float = 0.0
    next_full: float = 0.0
    not_before: float = 0.0
    error_streak: int = 0
    quiet_streak: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    task: asyncio.Task | None = None
    # Never in repr(): a runtime printed in a log or a traceback must not carry a key.
    api_key: str | None = field(default=None, repr=False)
    management_key: str | None = field(default=None, repr=False)
    keys_read_at: float | None = None  # monotonic; None = read them on the next poll


SnapshotCallback = Callable[[Snapshot], None]


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
        self._secrets = secrets
        self._client = client
        self._owns_client = client is None
        self._now = now
        self._monotonic = monotonic
        self._rng = rng or random.Random()
        self._subscribers: list[SnapshotCallback] = []
        self._runtimes: dict[str, _Runtime] = {}
        self.snapshots: dict[str, Snapshot] = {}
        self._running = False
        self._resume = asyncio.Event()
        self._resume.set()
        self._watchdog: asyncio.Task | None = None
        # One keyring read at a time: concurrent Secret Service reads from many threads
        # intermittently fail (ItemNotFoundException, even an unlock prompt) on gnome-keyring.
        self._keyring_lock = asyncio.Lock()
        for account in accounts:
            self._runtimes[account.id] = _Runtime(account, get_provider(account.provider))

    # --- public interface -------------------------------------------------

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = make_client()
        return self._client

    @property
    def accounts(self) -> list[Account]:
        return [rt.account for rt in self._runtimes.values()]

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    def subscribe(self, callback: SnapshotCallback) -> None:
        self._subscribers.append(callback)

    def seed(self, snapshots: Iterable[Snapshot]) -> None:
        """Show cached values (stale) before the first poll; they never schedule anything."""
        for snap in snapshots:
            if snap.account_id in self._runtimes and snap.account_id not in self.snapshots:
                self._publish(snap.with_changes(stale=True))

    async def start(self) -> None:
        if self._running:
            return
        self._running = True
        for rt in self._runtimes.values():
            self._start_account(rt)
        self._watchdog = asyncio.get_running_loop().create_task(self._watch_for_resume(), name="engine-watchdog")

    async def stop(self) -> None:
        self._running = False
        tasks = [rt.task for rt in self._runtimes.values() if rt.task]
        if self._watchdog:
            tasks.append(self._watchdog)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for rt in self._runtimes.values():
            rt.task = None
        self._watchdog = None
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def poll_all(self) -> list[Snapshot]:
        """One concurrent full poll of every account (what `traywidget status` does)."""
        return list(await asyncio.gather(*(self._poll(rt, full=True) for rt in self._runtimes.values())))

    async def refresh_now(self) -> None:
        """Ask every account to poll now; Retry-After still holds."""
        self.wake()

    def wake(self) -> None:
        """After a resume, a network change or a user's refresh: poll promptly."""
        now = self._monotonic()
        for rt in self._runtimes.values():
            rt.next_fast = rt.next_full = now
            rt.wake.set()

    def pause(self) -> None:
        self._resume.clear()

    def resume(self) -> None:
        if not self._resume.is_set():
            self._resume.set()
            self.wake()

    def set_accounts(self, accounts: Iterable[Account]) -> None:
        """Apply an edited account list: new accounts start, removed ones stop."""
        wanted = {a.id: a for a in accounts}
        for account_id in list(self._runtimes):
            if account_id not in wanted:
                rt = self._runtimes.pop(account_id)
                if rt.task:
                    rt.task.cancel()
                self.snapshots.pop(account_id, None)
        for account_id, account in wanted.items():
            rt = self._runtimes.get(account_id)
            if rt is not None and rt.account == account:
                rt.keys_read_at = None  # keys may have changed too
                rt.wake.set()
                continue
            if rt is not None and rt.task:
                rt.task.cancel()
            rt = _Runtime(account, get_provider(account.provider))
            self._runtimes[account_id] = rt
            if self._running:
                self._start_account(rt)

    async def kill_all(self) -> list[KillResult]:
        """Stop every active stream on every account that can, concurrently.

        A kill is the user's explicit action, so it is sent even while polling
        is paused or waiting out a Retry-After on the usage endpoints.
        """
        return list(await asyncio.gather(*(self._kill(rt) for rt in self._runtimes.values())))

    async def test_connection(self, account: Account, api_key: str, management_key: str | None = None) -> Snapshot:
        """Poll an account once with keys that are not saved yet (settings' "Test connection")."""
        rt = _Runtime(account, get_provider(account.provider), api_key=api_key, management_key=management_key)
        return await self._poll(rt, full=True, publish=False, keys_given=True)

    # --- scheduling -------------------------------------------------------

    def _start_account(self, rt: _Runtime) -> None:
        rt.task = asyncio.get_running_loop().create_task(self._run_account(rt), name=f"poll-{rt.account.id}")

    async def _run_account(self, rt: _Runtime) -> None:
        while self._running:
            await self._resume.wait()
            now = self._monotonic()
            due = max(min(rt.next_fast, rt.next_full), rt.not_before)
            if due > now:
                rt.wake.clear()
                try:
                    await asyncio.wait_for(rt.wake.wait(), timeout=due - now)
                except TimeoutError:
                    pass
                continue  # re-evaluate: a wake may have moved the schedule, Retry-After still holds
            if self.paused:
                continue
            full = now >= rt.next_full
            try:
                await self._poll(rt, full=full)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not kill the account's loop: log it, back off, go on
                log.exception("Unexpected error while polling %s", rt.account.id)
                self._schedule_after_error(rt, ErrorInfo(message="internal error"))

    async def _watch_for_resume(self) -> None:
        """Detect a suspend/resume (or a big clock jump) and refresh promptly."""
        offset = time.time() - self._monotonic()
        while self._running:
            await asyncio.sleep(self.settings.watchdog_s)
            new_offset = time.time() - self._monotonic()
            if abs(new_offset - offset) > self.settings.resume_jump_s:
                log.info("Clock jumped by %.0f s (resume from sleep?): refreshing", new_offset - offset)
                self.wake()
            offset = new_offset

    def _schedule(self, rt: _Runtime, full: bool, snap: Snapshot, previous: Snapshot | None) -> None:
        if snap.state in (State.NO_KEY, State.AUTH_ERROR) or (snap.error and snap.error.code == "KEYRING"):
            rt.keys_read_at = None  # the user may be fixing the key right now: read it again next time
        if snap.state is State.NO_KEY:
            rt.next_fast = rt.next_full = self._monotonic() + self.settings.cadence.no_key_recheck_s
        elif snap.state.is_poll_failure:
            self._schedule_after_error(rt, snap.error or ErrorInfo(message="error"))
        else:
            changed = previous is None or previous.content_key() != snap.content_key()
            self._schedule_after_success(rt, full, snap, changed)

    def _schedule_after_success(self, rt: _Runtime, full: bool, snap: Snapshot, changed: bool) -> None:
        cad = self.settings.cadence
        now_m = self._monotonic()
        rt.error_streak = 0
        rt.quiet_streak = 0 if changed else rt.quiet_streak + 1
        factor = min(cad.quiet_max_factor, 2.0 ** (rt.quiet_streak // cad.quiet_polls_per_step))
        fast = (rt.account.fast_interval_s or cad.fast_s) * factor
        full_interval = (rt.account.full_interval_s or cad.full_s) * factor
        if _near_exhaustion(snap.meters, cad.near_fraction):
            fast = min(fast, cad.near_s)
        # A poll right after a known reset (rolling windows have no fixed reset to chase).
        now_w = self._now()
        for meter in snap.meters:
            if meter.resets_at is None or meter.approximate_reset:
                continue
            until = (meter.resets_at - now_w).total_seconds() + cad.reset_grace_s
            if 0 < until < fast:
                fast = until
            if 0 < until < full_interval:
                full_interval = until
        rt.next_fast = now_m + fast
        # After a full poll the next one is a full interval away; after a fast
        # one, a nearer reset may still pull the next full poll forward.
        rt.next_full = now_m + full_interval if full else min(rt.next_full, now_m + full_interval)

    def _schedule_after_error(self, rt: _Runtime, info: ErrorInfo) -> None:
        cad = self.settings.cadence
        now_m = self._monotonic()
        rt.error_streak += 1
        rt.quiet_streak = 0
        delay = min(cad.backoff_max_s, cad.backoff_base_s * 2 ** (rt.error_streak - 1))
        delay = delay / 2 + self._rng.uniform(0, delay / 2)  # "equal jitter": never less than half
        if info.retry_after_s is not None:
            wait = min(info.retry_after_s, cad.retry_after_cap_s)
            rt.not_before = max(rt.not_before, now_m + wait)
            # The later of the two: a short Retry-After on every answer must not
            # hide a growing error streak (six 429s with "Retry-After: 1" would
            # otherwise mean a poll every second, forever).
            delay = max(delay, wait)
        rt.next_fast = rt.next_full = now_m + delay

    # --- one poll ---------------------------------------------------------

    async def _load_keys(self, rt: _Runtime) -> None:
        # Each keyring read is a D-Bus round trip (or a Keychain/Credential
        # Manager call): keys are kept in memory for key_reread_s.
        now = self._monotonic()
        if rt.keys_read_at is not None and now - rt.keys_read_at < self.settings.cadence.key_reread_s:
            return
        rt.api_key = await self._read_secret(rt.account.id, False)
        rt.management_key = await self._read_secret(rt.account.id, True)
        rt.keys_read_at = now

    async def _read_secret(self, account_id: str, management: bool) -> str | None:
        async with self._keyring_lock:
            return await asyncio.to_thread(self._secrets.get, account_id, management)

    async def _poll(self, rt: _Runtime, full: bool, publish: bool = True, keys_given: bool = False) -> Snapshot:
        async with rt.lock:
            previous = self.snapshots.get(rt.account.id)
            try:
                if not keys_given:
                    await self._load_keys(rt)
                if not rt.api_key:
                    snap = self._snapshot(rt, State.NO_KEY, previous, error=ErrorInfo(
                        message=f"No API key saved for {rt.account.label}. Set one in Settings or with "
                        f"`traywidget keys set {rt.account.id}`.", code="NO_KEY"))
                else:
                    snap = await self._poll_with_keys(rt, full, previous)
            except SecretStoreError as exc:
                snap = self._snapshot(rt, State.ERROR, previous, error=ErrorInfo(message=str(exc), code="KEYRING"))
            except Exception:  # a bug (e.g. in an adapter) must show as this account's error, not vanish
                log.exception("Unexpected error while polling %s", rt.account.id)
                snap = self._snapshot(rt, State.ERROR, previous, error=ErrorInfo(
                    message="Internal error while polling (details in the log)", code="INTERNAL_ERROR"))
            if publish:
                self._schedule(rt, full, snap, previous)
                self._publish(snap)
            return snap

    async def _poll_with_keys(self, rt: _Runtime, full: bool, previous: Snapshot | None) -> Snapshot:
        provider = rt.provider
        ctx = PollContext(
            now=self._now(),
            has_management_key=bool(rt.management_key),
            key_hint=KeyHint.of(rt.api_key or ""),
        )
        specs = provider.poll_requests(full, ctx)
        notes = list(provider.notes(ctx))
        readings: list[Reading] = []
        try:
            # One request after another: a poll reuses one kept-alive connection
            # per host, and a failed required request spares the rest.
            for spec in specs:
                try:
                    readings.append(await self._request(rt, spec, ctx))
                except ProviderError as exc:
                    if not spec.optional:
                        raise
                    notes.append(f"{spec.name}: {exc.info.message}")
                    if exc.info.retry_after_s is not None:
                        # Same provider, same key: its Retry-After holds for the whole account.
                        wait = min(exc.info.retry_after_s, self.settings.cadence.retry_after_cap_s)
                        rt.not_before = max(rt.not_before, self._monotonic() + wait)
        except ProviderError as exc:
            return self._snapshot(rt, exc.state, previous, error=exc.info, notes=notes)
        # A fast poll refreshes some meters; the rest stay as the last full poll saw them.
        merged = _merge_meters(previous.meters if previous is not None and not full else (), readings)
        plan = next((r.plan for r in reversed(readings) if r.plan), previous.plan if previous else None)
        for reading in readings:
            notes.extend(n for n in reading.notes if n not in notes)
        limited = next((r.rate_limited for r in readings if r.rate_limited), None)
        if limited is not None:
            return self._snapshot(rt, State.RATE_LIMITED, None, error=limited, meters=merged, plan=plan, notes=notes)
        state = _quota_state(merged, self.settings.thresholds)
        return self._snapshot(rt, state, None, meters=merged, plan=plan, notes=notes)

    async def _request(self, rt: _Runtime, spec: RequestSpec, ctx: PollContext) -> Reading:
        secret = rt.management_key if spec.credential is Credential.MANAGEMENT else rt.api_key
        if not secret:
            raise ProviderError(State.NO_KEY, ErrorInfo(message="No management key saved", code="NO_KEY"))
        headers = {**rt.provider.extra_headers, **rt.provider.auth_headers(secret)}
        url = join_url(rt.account.base_url, spec.path)
        result = await fetch(self.client, spec.method, url, headers, timeout_s=self.settings.timeout_s)
        log.debug("%s %s %s -> %d", rt.account.id, spec.method, spec.name, result.status)
        if not result.ok:
            raise rt.provider.error_for(spec, result, ctx)
        return rt.provider.parse(spec, result, ctx)

    async def _kill(self, rt: _Runtime) -> KillResult:
        spec = rt.provider.kill_request()
        if spec is None:
            return KillResult(rt.account.id, supported=False)
        try:
            if not rt.api_key:
                rt.api_key = await self._read_secret(rt.account.id, False)
            if not rt.api_key:
                return KillResult(rt.account.id, True, error=ErrorInfo(message="No API key saved", code="NO_KEY"))
            headers = {**rt.provider.extra_headers, **rt.provider.auth_headers(rt.api_key)}
            result = await fetch(self.client, spec.method, join_url(rt.account.base_url, spec.path), headers,
                                 timeout_s=self.settings.timeout_s)
            ctx = PollContext(now=self._now())
            if not result.ok:
                raise rt.provider.error_for(spec, result, ctx)
            killed = rt.provider.parse_kill(result)
        except ProviderError as exc:
            return KillResult(rt.account.id, True, error=exc.info)
        except SecretStoreError as exc:
            return KillResult(rt.account.id, True, error=ErrorInfo(message=str(exc), code="KEYRING"))
        log.info("Stopped %d stream(s) on %s", killed, rt.account.id)
        if killed:  # counters just changed: refresh soon (Retry-After still holds)
            rt.next_fast = self._monotonic()
            rt.wake.set()
        return KillResult(rt.account.id, True, killed_streams=killed)

    # --- snapshots --------------------------------------------------------

    def _snapshot(
        self,
        rt: _Runtime,
        state: State,
        previous: Snapshot | None,
        *,
        error: ErrorInfo | None = None,
        meters: tuple[Meter, ...] | None = None,
        plan: str | None = None,
        notes: Iterable[str] = (),
    ) -> Snapshot:
        # On an error the last known meters stay visible (with the error beside them).
        if meters is None:
            meters = previous.meters if previous else ()
            plan = plan or (previous.plan if previous else None)
        return Snapshot(
            account_id=rt.account.id,
            provider=rt.provider.id,
            label=rt.account.label,
            state=state,
            plan=plan,
            meters=meters,
            error=error,
            fetched_at=self._now(),
            notes=tuple(notes),
            supports_kill=rt.provider.supports_kill,
        )

    def _publish(self, snap: Snapshot) -> None:
        self.snapshots[snap.account_id] = snap
        for callback in list(self._subscribers):
            try:
                callback(snap)
            except Exception:
                log.exception("A snapshot subscriber failed")


def _merge_meters(base: Iterable[Meter], readings: Iterable[Reading]) -> tuple[Meter, ...]:
    merged: dict[str, Meter] = {m.name: m for m in base}
    for reading in readings:
        for meter in reading.meters:
            merged[meter.name] = meter
    return tuple(merged.values())


def _quota_state(meters: Iterable[Meter], thresholds: Thresholds) -> State:
    state = State.OK
    for meter in meters:
        if meter.estimated and meter.remaining is None:
            continue
        if meter.capped and meter.remaining is not None and meter.remaining <= 0:
            return State.EXHAUSTED
        if meter.unit is Unit.USD and meter.name == "balance" and meter.remaining is not None and meter.remaining <= 0:
            return State.EXHAUSTED
        fraction = meter.fraction_left
        if fraction is not None and fraction <= thresholds.low:
            state = State.LOW
    return state


def _near_exhaustion(meters: Iterable[Meter], near_fraction: float) -> bool:
    return any(
        (f := m.fraction_left) is not None and 0 < f <= near_fraction and not m.approximate_reset for m in meters
    )

