"""The engine through its public interface, with httpx.MockTransport and a fake clock.

State derivation, keys (one read for every account), kills, traffic
observations and stream counts. The scheduling rules themselves are pinned in
test_schedule.py; tests/engine/test_engine_sim.py runs the engine against the
simulator over real sockets.
"""

from __future__ import annotations

import inspect
import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from traywidget.engine.engine import Engine, EngineSettings
from traywidget.engine.engine_control import EngineControl
from traywidget.engine.schedule import Cadence
from traywidget.model import (
    Account,
    ErrorInfo,
    Meter,
    SecretStoreError,
    Source,
    State,
    Thresholds,
    TrafficObservation,
    Unit,
)
from traywidget.providers.routeway import NO_MANAGEMENT_KEY_NOTE, TRAFFIC_ONLY_NOTE
from traywidget.store.config import Settings
from traywidget.store.secrets import MemorySecretStore

T0 = datetime(2026, 11, 22, 10, 20, 0, tzinfo=UTC)
HOUR_RESET = datetime(2026, 11, 22, 11, 0, 0, tzinfo=UTC)
KEY = "rk_" + "a" * 64


class FakeTime:
    def __init__(self) -> None:
        self.mono = 1000.0
        self.wall = T0

    def monotonic(self) -> float:
        return self.mono

    def now(self) -> datetime:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += timedelta(seconds=seconds)


class CountingSecrets(MemorySecretStore):
    """Counts read_all calls: each would be one keyring round trip."""

    def __init__(self, secrets=None) -> None:
        super().__init__(secrets)
        self.reads = 0

    def read_all(self, account_ids=()):
        self.reads += 1
        return super().read_all(account_ids)


def routing_body(remaining_hour=420, limit_hour=500, remaining_day=1380, plan="Premium") -> dict:
    return {
        "requests_used_today": 1500 - remaining_day, "requests_limit_today": 1500, "requests_remaining": remaining_day,
        "requests_used_this_hour": limit_hour - remaining_hour, "requests_limit_this_hour": limit_hour,
        "requests_remaining_this_hour": remaining_hour, "requests_used_this_minute": 3,
        "requests_limit_per_minute": 100, "requests_remaining_this_minute": 97, "plan_tier": plan,
    }


def routing_account(account_id: str = "main") -> Account:
    return Account(id=account_id, provider="routing.run", label=account_id.title(),
                   base_url="https://api.routing.run/v1")


def make_engine(handler, clock: FakeTime, key: str | None = KEY, accounts=None, secrets=None, **cadence):
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    accounts = accounts or [routing_account()]
    if secrets is None:
        secrets = CountingSecrets()
        if key:
            for account in accounts:
                secrets.set(account.id, key)
    engine = Engine(accounts, secrets, client=client, settings=EngineSettings(cadence=Cadence(**cadence)),
                    now=clock.now, monotonic=clock.monotonic, rng=random.Random(7))
    return engine, client, secrets


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=routing_body())


async def test_full_poll_builds_meters_and_state():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=routing_body())

    engine, client, _ = make_engine(handler, FakeTime())
    (snap,) = await engine.poll_all()
    await client.aclose()
    assert snap.state is State.OK
    assert snap.plan == "Premium"
    assert {m.name for m in snap.meters} == {"requests_minute", "requests_hour", "requests_day"}
    assert snap.meter("requests_hour").remaining == 420
    request = seen[0]
    assert request.url.path == "/v1/user/requests"
    assert request.headers["X-API-Key"] == KEY
    assert "origin" not in request.headers and "referer" not in request.headers
    assert engine.snapshots == {"main": snap}


@pytest.mark.parametrize(
    ("remaining_hour", "expected"),
    [(420, State.OK), (100, State.LOW), (20, State.LOW), (0, State.EXHAUSTED)],
)
async def test_state_follows_thresholds(remaining_hour, expected):
    engine, client, _ = make_engine(lambda r: httpx.Response(200, json=routing_body(remaining_hour)), FakeTime())
    (snap,) = await engine.poll_all()
    await client.aclose()
    assert snap.state is expected


async def test_the_users_thresholds_apply_from_the_next_poll():
    engine, client, _ = make_engine(lambda r: httpx.Response(200, json=routing_body(remaining_hour=140)), FakeTime())
    assert (await engine.poll_all())[0].state is State.OK  # 28 % left, default low at 20 %
    engine.apply_settings(Settings(thresholds=Thresholds((0.30, 0.10)), fast_interval_s=90, full_interval_s=600))
    assert (await engine.poll_all())[0].state is State.LOW
    assert engine.settings.cadence.fast_s == 90 and engine.settings.cadence.full_s == 600
    await client.aclose()


async def test_lite_zero_hourly_is_no_cap_not_exhausted():
    body = routing_body(remaining_hour=0, limit_hour=0, plan="Lite")
    engine, client, _ = make_engine(lambda r: httpx.Response(200, json=body), FakeTime())
    (snap,) = await engine.poll_all()
    await client.aclose()
    assert snap.state is State.OK
    hour = snap.meter("requests_hour")
    assert hour.limit is None and hour.remaining is None


async def test_a_429_is_the_state_with_the_providers_message_and_retry_after():
    def handler(request):
        return httpx.Response(429, text="Hourly request limit exceeded",
                              headers={"X-Error-Code": "RATE_LIMIT_ERROR", "Retry-After": "120"})

    engine, client, _ = make_engine(handler, FakeTime())
    (snap,) = await engine.poll_all()
    await client.aclose()
    assert snap.state is State.RATE_LIMITED
    assert (snap.error.message, snap.error.retry_after_s, snap.error.http_status) == (
        "Hourly request limit exceeded", 120, 429)


async def test_no_key_is_a_state_not_a_request():
    calls = []
    engine, client, _ = make_engine(lambda r: calls.append(r) or httpx.Response(200, json={}), FakeTime(), key=None)
    (snap,) = await engine.poll_all()
    await client.aclose()
    assert snap.state is State.NO_KEY and not calls
    assert snap.error.message == "No API key saved for Main. Set one in Settings or with `traywidget keys set main`."


async def test_redirect_is_not_followed_and_key_stays_home():
    seen = []

    def handler(request):
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": "https://evil.example/steal"})

    engine, client, _ = make_engine(handler, FakeTime())
    (snap,) = await engine.poll_all()
    await client.aclose()
    assert snap.state is State.ERROR and snap.error.code == "REDIRECT_REFUSED"
    assert seen == ["https://api.routing.run/v1/user/requests"]


async def test_error_keeps_last_known_meters():
    status = {"code": 200}

    def handler(request):
        if status["code"] == 200:
            return httpx.Response(200, json=routing_body())
        return httpx.Response(401, text="Invalid API key", headers={"X-Error-Code": "AUTHENTICATION_ERROR"})

    engine, client, _ = make_engine(handler, FakeTime())
    await engine.poll_all()
    status["code"] = 401
    (snap,) = await engine.poll_all()
    await client.aclose()
    assert snap.state is State.AUTH_ERROR
    assert snap.error.message == "Invalid API key"
    assert snap.meter("requests_day").remaining == 1380


async def test_kill_reports_per_account_support_and_signs_with_the_key():
    seen = []

    def handler(request):
        seen.append((request.method, request.url.path, request.headers["X-API-Key"]))
        return httpx.Response(200, json={"killed_streams": 2})

    engine, client, _ = make_engine(handler, FakeTime())
    (result,) = await engine.kill_all()
    await client.aclose()
    assert (result.account_id, result.supported, result.killed_streams, result.error) == ("main", True, 2, None)
    assert seen == [("POST", "/v1/user/streams/kill", KEY)]


async def test_kill_without_a_key_says_so_and_sends_nothing():
    calls = []
    engine, client, _ = make_engine(lambda r: calls.append(r) or httpx.Response(200, json={}), FakeTime(), key=None)
    (result,) = await engine.kill_all()
    await client.aclose()
    assert result.supported and result.error.code == "NO_KEY" and not calls


async def test_kill_refused_by_the_provider_carries_its_message():
    def handler(request):
        return httpx.Response(401, text="Invalid API key", headers={"X-Error-Code": "AUTHENTICATION_ERROR"})

    engine, client, _ = make_engine(handler, FakeTime())
    (result,) = await engine.kill_all()
    await client.aclose()
    assert result.supported and result.killed_streams is None
    assert (result.error.message, result.error.http_status) == ("Invalid API key", 401)


async def test_snapshot_json_shape():
    engine, client, _ = make_engine(ok, FakeTime())
    (snap,) = await engine.poll_all()
    await client.aclose()
    data = json.loads(json.dumps(snap.to_json()))
    assert set(data) == {"id", "provider", "label", "state", "plan", "meters", "error", "fetched_at", "notes",
                         "stale", "streams", "held_until", "held_by", "gateway_usage"}
    assert data["streams"] is None  # no gateway in this process
    assert (data["held_until"], data["held_by"], data["gateway_usage"]) == (None, None, None)
    hour = next(m for m in data["meters"] if m["name"] == "requests_hour")
    assert hour == {"name": "requests_hour", "unit": "requests", "used": 80, "limit": 500, "remaining": 420,
                    "resets_at": "2026-11-22T11:00:00Z", "source": "poll", "seen_at": "2026-11-22T10:20:00Z",
                    "freshness": "current"}


async def test_snapshots_are_read_only_to_views():
    engine, client, _ = make_engine(ok, FakeTime())
    await engine.poll_all()
    await client.aclose()
    with pytest.raises(TypeError):
        engine.snapshots["main"] = None  # type: ignore[index]  # the read-only mapping written on purpose


# --- keys -------------------------------------------------------------------


async def test_a_key_changed_elsewhere_is_read_again_at_the_next_poll():
    """`traywidget keys set` in a terminal changes the store's stamp: the next poll reads the keys again
    (and only then), without waiting for key_reread_s or an auth error."""
    clock = FakeTime()
    sent: list[str] = []

    def handler(request):
        sent.append(request.headers["X-API-Key"])  # routing.run's auth header
        return httpx.Response(200, json=routing_body())

    engine, client, secrets = make_engine(handler, clock, key_reread_s=1800)
    await engine.poll_all()
    await engine.poll_all()
    assert secrets.reads == 1
    secrets.set("main", "rk_" + "77" * 32)  # what the other process's write looks like to this store
    await engine.poll_all()
    await engine.poll_all()
    await client.aclose()
    assert secrets.reads == 2
    assert sent[-1] == "rk_" + "77" * 32 and sent[0] != sent[-1]


async def test_every_accounts_keys_come_from_one_read():
    accounts = [routing_account(f"acc{i}") for i in range(40)]
    engine, client, secrets = make_engine(ok, FakeTime(), accounts=accounts)
    snaps = await engine.poll_all()
    await client.aclose()
    assert [s.state for s in snaps] == [State.OK] * 40
    assert secrets.reads == 1


async def test_keys_are_read_once_then_again_after_an_auth_error_an_edit_or_a_while():
    clock = FakeTime()
    status = {"code": 200}

    def handler(request):
        if status["code"] == 401:
            return httpx.Response(401, text="Invalid API key", headers={"X-Error-Code": "AUTHENTICATION_ERROR"})
        return httpx.Response(200, json=routing_body())

    engine, client, secrets = make_engine(handler, clock, key_reread_s=1800)

    async def poll() -> State:
        clock.advance(1)
        return (await engine.poll_all())[0].state

    assert [await poll() for _ in range(3)] == [State.OK] * 3
    assert secrets.reads == 1
    status["code"] = 401
    assert await poll() is State.AUTH_ERROR
    assert secrets.reads == 1  # the key was good a second ago
    assert await poll() is State.AUTH_ERROR  # after an auth error the key is read again
    assert secrets.reads == 2
    status["code"] = 200
    assert await poll() is State.OK
    assert secrets.reads == 3
    assert await poll() is State.OK
    assert secrets.reads == 3
    engine.set_accounts(engine.accounts)  # the settings dialog saved: keys may have changed
    assert await poll() is State.OK
    assert secrets.reads == 4
    clock.advance(1800)
    assert await poll() is State.OK
    assert secrets.reads == 5
    await client.aclose()


async def test_a_key_saved_while_the_account_had_none_is_picked_up():
    clock = FakeTime()
    engine, client, secrets = make_engine(ok, clock, key=None)
    assert (await engine.poll_all())[0].state is State.NO_KEY
    secrets.set("main", KEY)
    clock.advance(1)
    assert (await engine.poll_all())[0].state is State.OK
    await client.aclose()


async def test_a_failing_keyring_is_one_clear_error_per_account_and_one_attempt():
    class LockedKeyring(CountingSecrets):
        def read_all(self, account_ids=()):
            self.reads += 1
            raise SecretStoreError("Could not read the keys from the keyring (KeyringLocked). "
                                   "The keyring is locked: unlock it and try again.")

    secrets = LockedKeyring()
    accounts = [routing_account(f"acc{i}") for i in range(5)]
    calls = []
    engine, client, _ = make_engine(lambda r: calls.append(r) or ok(r), FakeTime(), accounts=accounts,
                                    secrets=secrets)
    snaps = await engine.poll_all()
    await client.aclose()
    assert {(s.state, s.error.code) for s in snaps} == {(State.ERROR, "KEYRING")}
    assert "locked" in snaps[0].error.message
    assert secrets.reads == 1 and not calls


async def test_test_connection_uses_the_given_keys_and_publishes_nothing():
    seen = []
    engine, client, secrets = make_engine(lambda r: seen.append(r.headers["X-API-Key"]) or ok(r), FakeTime(),
                                          key=None)
    published = []
    engine.subscribe(published.append)
    other = "rk_" + "b" * 64
    snap = await engine.test_connection(routing_account("new"), other)
    await client.aclose()
    assert snap.state is State.OK and snap.account_id == "new"
    assert seen == [other] and secrets.reads == 0
    assert published == [] and dict(engine.snapshots) == {}


# --- traffic through the gateway ---------------------------------------------------


def traffic_meter(name: str, remaining: float, limit: float, seen_at: datetime, resets_at=None) -> Meter:
    return Meter(name, Unit.REQUESTS, used=limit - remaining, limit=limit, remaining=remaining,
                 resets_at=resets_at, source=Source.TRAFFIC, seen_at=seen_at)


def routeway_account() -> Account:
    # Without a management key Routeway has no usage endpoint: its numbers come from traffic only.
    return Account(id="rw", provider="routeway", label="Routeway", base_url="https://api.routeway.ai/v1")


async def test_traffic_meters_merge_with_polled_meters_exactly():
    clock = FakeTime()
    engine, client, _ = make_engine(ok, clock)
    published = []
    engine.subscribe(published.append)
    (polled,) = await engine.poll_all()
    clock.advance(30)
    seen = clock.wall
    hour = traffic_meter("requests_hour", 300, 500, seen, HOUR_RESET)
    tokens = traffic_meter("tokens", 9000, 10000, seen)
    engine.observe(TrafficObservation("main", seen, meters=(hour, tokens)))
    snap = engine.snapshots["main"]
    assert published[-1] is snap and len(published) == 2
    assert snap.meters == (polled.meter("requests_minute"), hour, polled.meter("requests_day"), tokens)
    assert (snap.state, snap.error, snap.plan, snap.fetched_at) == (State.OK, None, "Premium", seen)
    # The next full poll is newer: its own hour wins, the traffic-only tokens meter stays.
    clock.advance(30)
    (after,) = await engine.poll_all()
    assert [m.name for m in after.meters] == ["requests_minute", "requests_hour", "requests_day", "tokens"]
    assert after.meter("requests_hour") == replace(polled.meter("requests_hour"), seen_at=clock.wall)
    assert after.meter("tokens") == tokens
    await client.aclose()


async def test_a_traffic_429_sets_the_state_and_a_good_answer_clears_it():
    clock = FakeTime()
    engine, client, _ = make_engine(ok, clock, accounts=[routeway_account()])
    (first,) = await engine.poll_all()
    assert first.meters == () and first.state is State.OK
    minute = traffic_meter("requests_minute", 0, 5, clock.wall, clock.wall + timedelta(seconds=40))
    limited = ErrorInfo(message="API key per-minute rate limit exceeded (5 RPM).", http_status=429,
                        code="rate_limit_exceeded", retry_after_s=40, limit_kind="minute")
    engine.observe(TrafficObservation("rw", clock.wall, meters=(minute,), state=State.RATE_LIMITED, error=limited))
    snap = engine.snapshots["rw"]
    assert (snap.state, snap.error, snap.meters) == (State.RATE_LIMITED, limited, (minute,))
    # Routeway's standing note now says where the numbers come from (traffic), not that none can be had.
    assert first.notes == (NO_MANAGEMENT_KEY_NOTE,) and snap.notes == (TRAFFIC_ONLY_NOTE,)
    clock.advance(41)
    fresh = traffic_meter("requests_minute", 4, 5, clock.wall, clock.wall + timedelta(seconds=60))
    engine.observe(TrafficObservation("rw", clock.wall, meters=(fresh,)))
    snap = engine.snapshots["rw"]
    assert (snap.state, snap.error, snap.meters) == (State.OK, None, (fresh,))
    await client.aclose()


async def test_a_poll_clears_a_traffic_refusal_as_it_would_its_own():
    clock = FakeTime()
    engine, client, _ = make_engine(ok, clock)
    await engine.poll_all()
    refusal = ErrorInfo(message="Concurrent stream limit exceeded", http_status=429, code="RATE_LIMIT_ERROR",
                        limit_kind="concurrent_streams")
    engine.observe(TrafficObservation("main", clock.wall, state=State.RATE_LIMITED, error=refusal))
    assert engine.snapshots["main"].state is State.RATE_LIMITED
    clock.advance(5)
    (snap,) = await engine.poll_all()
    assert (snap.state, snap.error) == (State.OK, None)
    await client.aclose()


async def test_a_good_answer_in_traffic_does_not_hide_a_polls_own_failure():
    clock = FakeTime()

    def handler(request):
        return httpx.Response(503, text="Service unavailable", headers={"X-Error-Code": "CIRCUIT_BREAKER_OPEN"})

    engine, client, _ = make_engine(handler, clock)
    (failed,) = await engine.poll_all()
    assert failed.state is State.ERROR
    hour = traffic_meter("requests_hour", 300, 500, clock.wall, HOUR_RESET)
    engine.observe(TrafficObservation("main", clock.wall, meters=(hour,)))
    snap = engine.snapshots["main"]
    assert (snap.state, snap.error, snap.meters) == (State.ERROR, failed.error, (hour,))
    await client.aclose()


async def test_a_traffic_402_and_a_rejected_key():
    clock = FakeTime()
    engine, client, secrets = make_engine(ok, clock)
    await engine.poll_all()
    payment = ErrorInfo(message="Insufficient credits", http_status=402, code="INSUFFICIENT_CREDITS")
    engine.observe(TrafficObservation("main", clock.wall, state=State.PAYMENT_REQUIRED, error=payment))
    assert (engine.snapshots["main"].state, engine.snapshots["main"].error) == (State.PAYMENT_REQUIRED, payment)
    rejected = ErrorInfo(message="Invalid API key", http_status=401, code="AUTHENTICATION_ERROR")
    engine.observe(TrafficObservation("main", clock.wall, state=State.AUTH_ERROR, error=rejected))
    assert engine.snapshots["main"].state is State.AUTH_ERROR
    assert secrets.reads == 1
    clock.advance(1)
    await engine.poll_all()  # a rejected key in traffic: the next poll reads the keys again
    assert secrets.reads == 2
    await client.aclose()


async def test_an_observation_before_any_poll_and_one_for_an_unknown_account():
    clock = FakeTime()
    engine, client, _ = make_engine(ok, clock)
    published = []
    engine.subscribe(published.append)
    engine.observe(TrafficObservation("nobody", clock.wall, meters=(traffic_meter("requests", 1, 2, clock.wall),)))
    assert published == []
    minute = traffic_meter("requests_minute", 90, 100, clock.wall)
    engine.observe(TrafficObservation("main", clock.wall, meters=(minute,)))
    (snap,) = published
    assert (snap.account_id, snap.state, snap.meters, snap.label, snap.provider) == (
        "main", State.OK, (minute,), "Main", "routing.run")
    await client.aclose()


async def test_stream_counts_ride_on_every_snapshot():
    clock = FakeTime()
    engine, client, _ = make_engine(ok, clock)
    published = []
    engine.subscribe(published.append)
    engine.set_streams("main", 2)  # before the first poll: nothing to show yet
    assert published == []
    (snap,) = await engine.poll_all()
    assert snap.streams == 2
    engine.set_streams("main", 2)
    assert len(published) == 1  # unchanged: nothing published
    engine.set_streams("main", 0)
    assert published[-1].streams == 0 and published[-1].meters == snap.meters
    assert published[-1].content_key() != snap.content_key()  # `watch` prints the change
    engine.set_streams("main", None)  # the gateway stopped
    assert engine.snapshots["main"].streams is None
    engine.set_streams("nobody", 3)
    with pytest.raises(ValueError):
        engine.set_streams("main", -1)
    assert len(published) == 3
    await client.aclose()


# --- what the views may use -------------------------------------------------------


def test_the_engine_offers_exactly_what_engine_control_names():
    members = [name for name in vars(EngineControl) if not name.startswith("_")]
    assert sorted(members) == ["apply_settings", "kill_all", "pause", "paused", "refresh_now", "resume", "seed",
                               "set_accounts", "snapshots", "subscribe", "test_connection"]
    for name in members:
        wanted, offered = getattr(EngineControl, name), getattr(Engine, name)
        if isinstance(wanted, property):
            assert isinstance(offered, property), name
            continue
        assert inspect.iscoroutinefunction(wanted) == inspect.iscoroutinefunction(offered), name
        assert list(inspect.signature(wanted).parameters) == list(inspect.signature(offered).parameters), name


async def test_a_polls_failure_after_a_traffic_refusal_is_not_hidden_by_good_traffic():
    clock = FakeTime()
    status = {"code": 200}

    def handler(request):
        if status["code"] == 200:
            return ok(request)
        return httpx.Response(503, text="Service unavailable", headers={"X-Error-Code": "CIRCUIT_BREAKER_OPEN"})

    engine, client, _ = make_engine(handler, clock)
    await engine.poll_all()
    engine.observe(TrafficObservation("main", clock.wall, state=State.RATE_LIMITED,
                                      error=ErrorInfo(message="Rate limit exceeded", http_status=429)))
    status["code"] = 503
    clock.advance(5)
    (failed,) = await engine.poll_all()
    engine.observe(TrafficObservation("main", clock.wall))
    assert (engine.snapshots["main"].state, engine.snapshots["main"].error) == (State.ERROR, failed.error)
    await client.aclose()


async def test_an_openai_compatible_account_says_so_until_its_first_traffic():
    clock = FakeTime()
    calls = []
    account = Account(id="groq", provider="openai-compatible", label="Groq",
                      base_url="https://api.groq.com/openai/v1")
    engine, client, _ = make_engine(lambda r: calls.append(r) or ok(r), clock, accounts=[account])
    (first,) = await engine.poll_all()
    assert (first.state, first.meters, first.error) == (State.OK, (), None)
    assert len(first.notes) == 1 and "after the first request through the gateway" in first.notes[0]
    clock.advance(10)
    requests = traffic_meter("requests", 29, 30, clock.wall, clock.wall + timedelta(seconds=60))
    tokens = traffic_meter("tokens", 5800, 6000, clock.wall, clock.wall + timedelta(seconds=60))
    engine.observe(TrafficObservation("groq", clock.wall, meters=(requests, tokens)))
    snap = engine.snapshots["groq"]
    assert (snap.state, snap.meters, snap.notes) == (State.OK, (requests, tokens), ())
    clock.advance(10)
    (again,) = await engine.poll_all()  # nothing to ask: the traffic's numbers stay, the note stays gone
    assert (again.state, again.meters, again.notes) == (State.OK, (requests, tokens), ())
    limited = ErrorInfo(message="Rate limit reached for requests", http_status=429, code="rate_limit_exceeded",
                        retry_after_s=7)
    engine.observe(TrafficObservation("groq", clock.wall, state=State.RATE_LIMITED, error=limited))
    assert (engine.snapshots["groq"].state, engine.snapshots["groq"].error) == (State.RATE_LIMITED, limited)
    assert calls == []
    await client.aclose()
