"""The simulated world: keys, faults, stream scripts, streams, request log, background traffic; each
provider's own accounts, counters and usage answers are its part (world_routing.py, world_openrouter.py,
world_routeway.py, world_openai.py, state_balances.py), over the state they share (world_state.py).

Pure Python (no aiohttp) so it can be driven and inspected directly by tests.
All public methods take the lock: tests control the world from their own
thread while the server thread serves it. Time comes from an injectable
clock, so windows can be crossed without sleeping.

What a test can set per key (each also reachable over HTTP, see sim_control.py):
- `inject(key, fault, count=..., **params)`: a fault on every endpoint called
  with the key (usage, kill, completions, messages, models, embeddings);
- `script_streams(key, count=..., **params)`: how its next streams behave
  (scripts.py lists the parameters);
- `configure(key, **fields)`: e.g. routing.run `stream_limit=2` (concurrent
  streams of the key's user, default the plan's 50) and `stream_denial="sse"`
  (a refused stream answers 200 with the error as an SSE event instead of the
  documented plain-text 429); openai-compatible `rpm=...`, `tpm=...`.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from traywidget.simulator.faults import Fault
from traywidget.simulator.records import (
    DEFAULT_COST_USD,
    DEFAULT_MODEL,
    LOGGED_HEADERS,
    OPENAI_COMPATIBLE,
    OPENROUTER,
    OPENROUTER_FREE_RPM,
    PLAIN_ANSWER_TOKENS,
    PROVIDERS,
    ROUTEWAY,
    ROUTING,
    STREAM_DENIALS,
    STREAM_ERRORS,
    Denial,
    Job,
    OpenAICompatibleKey,
    OpenRouterKey,
    RequestRecord,
    RoutewayAccount,
    RoutewayKey,
    RoutingUser,
    StreamHandle,
    Traffic,
    request_tokens,
)
from traywidget.simulator.scripts import DEFAULT_SCRIPT, StreamScript
from traywidget.simulator.state_balances import BalanceWorld
from traywidget.simulator.windows import (
    Clock,
    PeriodCounter,
    RollingCounter,
    TokenBucket,
    real_clock,
)
from traywidget.simulator.world_openai import OpenAICompatibleWorld
from traywidget.simulator.world_openrouter import OpenRouterWorld
from traywidget.simulator.world_routeway import RoutewayWorld
from traywidget.simulator.world_routing import RoutingRunWorld


class Simulator(RoutingRunWorld, OpenRouterWorld, RoutewayWorld, OpenAICompatibleWorld):
    """The whole simulated world of every provider: the providers' own parts are mixed in from
    world_routing.py, world_openrouter.py, world_routeway.py and world_openai.py; LiteLLM, DeepSeek and
    Moonshot live beside it (state_balances.py)."""

    def __init__(self, clock: Clock | None = None, *, stream_interval_s: float = 0.2) -> None:
        self.clock: Clock = clock or real_clock
        self.stream_interval_s = stream_interval_s
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._provider_of: dict[str, str] = {}
        self._routing_keys: dict[str, RoutingUser] = {}
        self._or_keys: dict[str, OpenRouterKey] = {}
        self._rw_keys: dict[str, RoutewayKey] = {}
        self._rw_mgmt: dict[str, RoutewayAccount] = {}
        self._rw_mgmt_windows: dict[tuple[str, str], RollingCounter] = {}
        self._oa_keys: dict[str, OpenAICompatibleKey] = {}
        self._faults: dict[str, Fault] = {}
        self._scripts: dict[str, tuple[StreamScript, int | None]] = {}
        self._log: deque[RequestRecord] = deque(maxlen=100_000)
        self._traffic: dict[tuple[str, str | None], Traffic] = {}
        self._jobs: list[Job] = []
        self._kept: dict[str, float] = {}
        self._streams: dict[int, StreamHandle] = {}
        self._stream_stats: dict[str, dict[str, float]] = {}
        self._key_stream_stats: dict[str, dict[str, float]] = {}
        self._reset_stats()
        # LiteLLM, DeepSeek, Moonshot and the header dialects live beside this world (state_balances.py).
        self.balances = BalanceWorld(self.clock)

    # --- accounts -------------------------------------------------------------

    def add_management_key(self, of_key: str, key: str | None = None) -> str:
        """A management key for the OpenRouter or Routeway account that owns of_key."""
        with self._lock:
            provider = self._provider_of[of_key]
            if provider == OPENROUTER:
                return self.add_openrouter_key(label="management", same_account_as=of_key,
                                               key=key, management=True)
            if provider == ROUTEWAY:
                account = self._rw_account(of_key)
                key = self._register(key, ROUTEWAY, lambda: "rw-mgmt-" + secrets.token_hex(24))
                self._rw_mgmt[key] = account
                return key
            raise ValueError(f"{provider} has no management keys")

    def add_account(self, provider: str, *, management: bool = False, **options: Any) -> dict[str, Any]:
        """One account of any provider: {provider, api_key, management_key}."""
        with self._lock:
            adders: dict[str, Callable[..., str]] = {ROUTING: self.add_routing_key, OPENROUTER: self.add_openrouter_key,
                      ROUTEWAY: self.add_routeway_key, OPENAI_COMPATIBLE: self.add_openai_compatible_key,
                      **self.balances.adders()}
            api_key = adders[provider](**options)
            mgmt = self.add_management_key(api_key) if management else None
            return {"provider": provider, "api_key": api_key, "management_key": mgmt}

    def configure(self, key: str, **fields: Any) -> None:
        """Set fields of a key's record or of its account (e.g. limit=5, total_credits=3,
        balance=-1, free_requests_field=False, legacy_errors=True, stream_limit=2,
        stream_denial="sse", rpm=3)."""
        if "stream_denial" in fields and fields["stream_denial"] not in STREAM_DENIALS:
            raise ValueError(f"stream_denial must be one of {', '.join(STREAM_DENIALS)}")
        if "firewall" in fields:  # a Cloudflare-style block in front of any key (state_balances.py)
            self.balances.block(key, fields.pop("firewall"))
            if not fields:
                return
        if self.balances.knows(key):
            return self.balances.configure(key, **fields)
        with self._lock:
            provider = self.provider_of(key)
            if provider is None:
                raise KeyError("unknown key")
            if provider == ROUTING:
                targets: list[Any] = [self._routing_keys[key]]
            elif provider == OPENAI_COMPATIBLE:
                targets = [self._oa_keys[key]]
            elif provider == OPENROUTER:
                targets = [self._or_keys[key], self._or_keys[key].account]
            else:
                row = self._rw_keys.get(key)
                targets = [row, row.account] if row else [self._rw_mgmt[key]]
            for name, value in fields.items():
                target = next((t for t in targets if name in getattr(t, "__dataclass_fields__", {})), None)
                if target is None or name in ("key", "account") or isinstance(
                        getattr(target, name), (PeriodCounter, RollingCounter, TokenBucket)):
                    raise ValueError(f"cannot configure {name!r} on a {provider} key")
                setattr(target, name, value)

    def provider_of(self, key: str | None) -> str | None:
        with self._lock:
            return self._provider_of.get(key) if key else None

    def knows(self, key: str | None, provider: str) -> bool:
        return self.provider_of(key) == provider

    def is_management(self, key: str) -> bool:
        with self._lock:
            record = self._or_keys.get(key)
            return key in self._rw_mgmt or bool(record and record.is_management_key)

    def legacy_errors(self, key: str | None) -> bool:
        with self._lock:
            if key is None or not (key in self._rw_keys or key in self._rw_mgmt):
                return False
            return self._rw_account(key).legacy_errors

    # --- usage payloads (what the usage endpoints return) -----------------------

    # --- admission: one request through a key ---------------------------------

    def admit(self, key: str, model: str | None = None, *, stream: bool = False,
              weight: int = 1, cost: float | None = None, tokens: int | None = None) -> Denial | None:
        """Count one request (weight = routing.run multiplier, tokens = what an
        openai-compatible request spends) or say why it is refused."""
        with self._lock:
            provider = self._provider_of[key]
            model = model or DEFAULT_MODEL[provider]
            cost = DEFAULT_COST_USD if cost is None else cost
            if provider == ROUTING:
                return self._admit_routing(key, stream, weight)
            if provider == OPENROUTER:
                return self._admit_openrouter(key, model, cost)
            if provider == OPENAI_COMPATIBLE:
                return self._admit_openai(key, request_tokens(PLAIN_ANSWER_TOKENS) if tokens is None else tokens)
            return self._admit_routeway(key, model, cost)

    def scripted_denial(self, key: str, kind: str) -> Denial:
        """The 429 a script sends mid-stream: limit `kind` of key as it stands now."""
        with self._lock:
            provider, now = self._provider_of[key], self.now()
            if provider == ROUTING:
                user = self._routing_keys[key]
                if kind == "concurrent":
                    return Denial(kind, user.max_streams, 0)
                counters: dict[str, PeriodCounter | RollingCounter] = {
                    "daily": user.day, "hourly": user.hour, "minute": user.minute}
                counter = counters[kind]
                limit = {"daily": user.plan.per_day, "hourly": user.plan.per_hour,
                         "minute": user.plan.per_minute}[kind]
                return Denial(kind, limit, 0, counter.resets_at(now))
            if provider == OPENROUTER:
                account = self._or_keys[key].account
                if kind == "upstream":
                    return Denial(kind)
                counter, limit = ((account.free_minute, OPENROUTER_FREE_RPM) if kind == "minute"
                                  else (account.free_day, account.free_daily_limit))
                return Denial(kind, limit, 0, counter.resets_at(now))
            if provider == ROUTEWAY:
                windows = self.routeway_windows(key)
                limit, _, reset = windows[kind]
                return Denial(kind, limit, 0, reset, windows)
            windows = self.openai_windows(key)
            limit, remaining, reset = windows[kind]
            return Denial(kind, limit, remaining, reset, windows)

    def spend(self, key: str, n: int = 1, model: str | None = None, cost: float | None = None) -> int:
        """Simulate n requests through key; returns how many were accepted."""
        with self._lock:
            return sum(self.admit(key, model, cost=cost) is None for _ in range(n))

    # --- streams ---------------------------------------------------------------

    def open_stream(self, key: str, model: str | None = None, max_tokens: int = 20,
                    internal: bool = False, include_usage: bool = True) -> tuple[StreamHandle | None, Denial | None]:
        """Register an active stream (counts one request, honours the stream cap).
        An HTTP stream takes one shot of the key's stream script, if any."""
        with self._lock:
            script = DEFAULT_SCRIPT if internal else self._scripts.get(key, (DEFAULT_SCRIPT, None))[0]
            events = max_tokens if script.events is None else script.events
            denial = self.admit(key, model, stream=True, tokens=request_tokens(events))
            if denial is not None:
                return None, denial
            if script is not DEFAULT_SCRIPT:
                self._take_script(key)
            provider = self._provider_of[key]
            owner = self._routing_keys[key].id if provider == ROUTING else key
            token = self._routing_keys[key].stop_token if provider == ROUTING else 0
            handle = StreamHandle(next(self._ids), provider, key, owner, model or DEFAULT_MODEL[provider],
                                  events, token, internal=internal, script=script, include_usage=include_usage)
            self._streams[handle.id] = handle
            return handle, None

    def stream_denial(self, key: str) -> str:
        """How a refused stream of key is answered: "status" or "sse" (routing.run only)."""
        with self._lock:
            user = self._routing_keys.get(key)
            return user.stream_denial if user is not None else "status"

    def stream_should_stop(self, handle: StreamHandle) -> bool:
        """The per-user stop-token check a routing.run stream makes while running."""
        with self._lock:
            user = self._routing_keys.get(handle.key)
            return user is not None and user.stop_token != handle.token

    def close_stream(self, handle: StreamHandle, outcome: str) -> None:
        """outcome: finished | killed | cancelled (client went away or server
        stopped) | reset (scripted) | error (scripted 429 sent)."""
        with self._lock:
            if self._streams.pop(handle.id, None) is not None:
                ended = time.time()
                for stats in (self._stream_stats[handle.provider],
                              self._key_stream_stats.setdefault(handle.key, _empty_stats())):
                    stats[outcome] += 1
                    stats["last_ended_at"] = ended

    def kill_streams(self, key: str) -> int:
        """routing.run's kill: bump the user's stop token; returns streams it will stop."""
        with self._lock:
            user = self._routing_keys[key]
            user.stop_token += 1
            victims = [h for h in self._streams.values() if h.owner == user.id and not h.kill_requested]
            for handle in victims:
                handle.kill_requested = True
            return len(victims)

    def active_streams(self, key: str | None = None) -> list[StreamHandle]:
        with self._lock:
            return [h for h in self._streams.values() if key is None or h.key == key]

    def stream_stats(self, key: str | None = None) -> dict[str, Any]:
        """Streams ended per outcome, active now, and `last_ended_at` (wall-clock
        epoch seconds of the latest end, None before any): per provider, or for
        one key when key is given."""
        with self._lock:
            if key is not None:
                stats = dict(self._key_stream_stats.get(key) or _empty_stats())
                stats["active"] = sum(1 for h in self._streams.values() if h.key == key)
                return stats
            stats_by_provider = {p: dict(counts) for p, counts in self._stream_stats.items()}
            for provider in PROVIDERS:
                stats_by_provider[provider]["active"] = sum(
                    1 for h in self._streams.values() if h.provider == provider)
            return stats_by_provider

    def _reset_stats(self) -> None:
        self._stream_stats = {p: _empty_stats() for p in PROVIDERS}
        self._key_stream_stats = {}

    def keep_stream(self, key: str, restart_after_s: float = 10.0) -> None:
        """Ask the server to keep an internal stream open on key, reopening it after a kill."""
        with self._lock:
            self._kept[key] = restart_after_s

    def kept_streams(self) -> dict[str, float]:
        with self._lock:
            return dict(self._kept)

    def script_streams(self, key: str, *, count: int | None = None, **params: Any) -> None:
        """Script key's next `count` HTTP streams (None: until cleared); params in scripts.py."""
        script = StreamScript.make(**params)
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ValueError("count must be >= 1 or None")
        with self._lock:
            provider = self._provider_of.get(key)
            if provider is None:
                raise KeyError("unknown key")
            if script.error is not None and script.error not in STREAM_ERRORS[provider]:
                raise ValueError(f"a {provider} stream error names one of {', '.join(STREAM_ERRORS[provider])}")
            if script.error_after is not None and script.error is None:
                script = replace(script, error=STREAM_ERRORS[provider][0])
            self._scripts[key] = (script, count)

    def _take_script(self, key: str) -> None:
        script, remaining = self._scripts[key]
        if remaining is None:
            return
        if remaining <= 1:
            del self._scripts[key]
        else:
            self._scripts[key] = (script, remaining - 1)

    # --- faults ----------------------------------------------------------------

    def inject(self, key: str, fault: str, *, count: int | None = None, **params: Any) -> None:
        """Make every endpoint called with key misbehave, `count` times or until cleared."""
        made = Fault.make(fault, count, **params)
        with self._lock:
            self._faults[key] = made

    def clear(self, key: str | None = None) -> None:
        """Drop the faults and stream scripts of key (of every key when None)."""
        with self._lock:
            if key is None:
                self._faults.clear()
                self._scripts.clear()
            else:
                self._faults.pop(key, None)
                self._scripts.pop(key, None)

    def take_fault(self, key: str, applies: frozenset[str] | None = None) -> Fault | None:
        """The fault for this request, consuming one shot of a counted fault.
        With `applies`, a fault of another kind is left in place and None returned."""
        with self._lock:
            fault = self._faults.get(key)
            if fault is None or (applies is not None and fault.kind not in applies):
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._faults[key]
            return fault

    # --- request log -------------------------------------------------------------

    def record(self, provider: str, path: str, method: str, key: str | None,
               headers: Mapping[str, str]) -> None:
        lowered = {k.lower(): v for k, v in headers.items()}
        kept = {name: lowered[name] for name in LOGGED_HEADERS if name in lowered}
        entry = RequestRecord(self.now(), provider, path, method.upper(), key, kept,
                              "origin" in lowered, "referer" in lowered)
        with self._lock:
            self._log.append(entry)

    def requests(self, provider: str | None = None, key: str | None = None, path: str | None = None,
                 since: datetime | None = None) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self._log
                    if (provider is None or r.provider == provider) and (key is None or r.key == key)
                    and (path is None or r.path == path) and (since is None or r.time >= since)]

    def count(self, provider: str | None = None, key: str | None = None, path: str | None = None,
              since: datetime | None = None) -> int:
        return len(self.requests(provider, key, path, since))

    # --- background traffic and scheduled jobs ------------------------------------

    def start_traffic(self, key: str, rate_per_min: float, model: str | None = None) -> None:
        """Generate requests on key at about rate_per_min (applied by tick())."""
        with self._lock:
            self._traffic[(key, model)] = Traffic(rate_per_min, self.now())

    def stop_traffic(self, key: str | None = None) -> None:
        with self._lock:
            for item in [k for k in self._traffic if key is None or k[0] == key]:
                del self._traffic[item]

    def every(self, interval_s: float, fn: Callable[[Simulator], object],
              first_after_s: float | None = None) -> None:
        """Run fn(sim) from tick() every interval_s (simulated seconds)."""
        with self._lock:
            first = interval_s if first_after_s is None else first_after_s
            self._jobs.append(Job(interval_s, fn, self.now() + timedelta(seconds=first)))

    def tick(self) -> None:
        """Advance traffic and due jobs to the clock's now; the server calls this often."""
        due: list[Job] = []
        with self._lock:
            now = self.now()
            for (key, model), traffic in self._traffic.items():
                elapsed = min(60.0, max(0.0, (now - traffic.last).total_seconds()))
                traffic.last = now
                traffic.carry += elapsed * traffic.rate_per_min / 60.0
                n, traffic.carry = int(traffic.carry), traffic.carry % 1
                self.spend(key, n, model)
            for job in self._jobs:
                if now >= job.next_at:
                    job.next_at = now + timedelta(seconds=job.interval_s)
                    due.append(job)
        for job in due:
            job.fn(self)

    def reset(self) -> None:
        """Back to a clean world: counters, faults, stream scripts, log, traffic,
        jobs, stream stats. Accounts, keys and their settings stay."""
        with self._lock:
            for user in self._routing_keys.values():
                user.day, user.hour, user.minute = PeriodCounter("day"), PeriodCounter("hour"), RollingCounter()
            for record in self._or_keys.values():
                record.usage = 0.0
                record.usage_daily, record.usage_weekly, record.usage_monthly = (
                    PeriodCounter("day"), PeriodCounter("week"), PeriodCounter("month"))
                record.account.total_usage = 0.0
                record.account.free_day, record.account.free_minute = PeriodCounter("day"), RollingCounter()
            for row in self._rw_keys.values():
                row.usage_today, row.usage_minute = PeriodCounter("day"), PeriodCounter("minute")
            for compatible in self._oa_keys.values():
                compatible.requests, compatible.tokens = TokenBucket(), TokenBucket()
            self._rw_mgmt_windows.clear()
            self._faults.clear()
            self._scripts.clear()
            self._log.clear()
            self._traffic.clear()
            self._jobs.clear()
            self._kept.clear()
            self._reset_stats()


def _empty_stats() -> dict[str, Any]:
    return {"finished": 0, "killed": 0, "cancelled": 0, "reset": 0, "error": 0, "last_ended_at": None}
