"""Engine scheduling and state logic with httpx.MockTransport and a fake clock.

These pin the rules exactly (Retry-After, backoff, quiet slow-down, reset
chasing, state derivation); tests/core/test_engine_sim.py proves the same
engine against the simulator over real sockets.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from traywidget.core.engine import (
    Cadence,
    Engine,
    EngineSettings,
    requests_budget_per_hour,
)
from traywidget.core.secrets import MemorySecretStore
from traywidget.model import Account, State

T0 = datetime(2026, 11, 22, 10, 20, 0, tzinfo=timezone.utc)


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


def routing_body(remaining_hour=420, limit_hour=500, remaining_day=1380, plan="Premium") -> dict:
    return {
        "requests_used_today": 1500 - remaining_day, "requests_limit_today": 1500, "requests_remaining": remaining_day,
        "requests_used_this_hour": limit_hour - remaining_hour, "requests_limit_this_hour": limit_hour,
        "requests_remaining_this_hour": remaining_hour, "requests_used_this_minute": 3,
        "requests_limit_per_minute": 100, "requests_remaining_this_minute": 97, "plan_tier": plan,
    }


def make_engine(handler, clock: FakeTime, key="rk_" + "a" * 64, **cadence):
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    account = Account(id="main", provider="routing.run", label="Main", base_url="https://api.routing.run/v1")
    secrets = MemorySecretStore()
    if key:
        secrets.set("main", key)
    engine = Engine([account], secrets, client=client, settings=EngineSettings(cadence=Cadence(**cadence)),
                    now=clock.now, monotonic=clock.monotonic, rng=random.Random(7))
    return engine, client


async def test_full_poll_builds_meters_and_state():
    clock = FakeTime()
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=routing_body())

    engine, client = make_engine(handler, clock)
    (snap,) = await engine.poll_all()
    await client.aclose()
    assert snap.state is State.OK
    assert snap.plan == "Premium"
    assert {m.name for m in snap.meters} == {"requests_minute", "requests_hour", "requests_day"}
    assert snap.meter("requests_hour").remaining == 420
    request = seen[0]
    assert request.url.path == "/v1/user/requests"
    assert request.headers["X-API-Key"] == "rk_" + "a" * 64
    assert "origin" not in request.headers and "referer" not in request.headers


@pytest.mark.parametrize(
    ("remaining_hour", "expected"),
    [(420, State.OK), (100, State.LOW), (20, State.LOW), (0, State.EXHAUSTED)],
)
async def test_state_follows_thresholds(remaining_hour, expected):
    engine, client = make_engine(lambda r: httpx.Response(200, json=routing_body(remaining_hour)), FakeTime())
    (snap,) = await engine.poll_all()
    await client.aclose()
    assert snap.state is expected


async def test_lite_zero_hourly_is_no_cap_not_exhausted():
    body = routing_body(remaining_hour=0, limit_hour=0, plan="Lite")
    engine, client = make_engine(lambda r: httpx.Response(200, json=body), FakeTime())
    (snap,) = await engine.poll_all()
    await client.aclose()
    assert snap.state is State.OK
    hour = snap.meter("requests_hour")
    assert hour.limit is None and hour.remaining is None


async def test_retry_after_blocks_every_request_until_it_passes():
    clock = FakeTime()
    calls = []

    def handler(request):
        calls.append(clock.mono)
        return httpx.Response(429, text="Hourly request limit exceeded",
                              headers={"X-Error-Code": "RATE_LIMIT_ERROR", "Retry-After": "120"})

    engine, client = make_engine(handler, clock)
    rt = engine._runtimes["main"]
    snap = await engine._poll(rt, full=True)
    assert snap.state is State.RATE_LIMITED
    assert snap.error.retry_after_s == 120
    assert rt.not_before == pytest.approx(clock.mono + 120)
    # A user's "Refresh now" moves the timers but not past Retry-After.
    engine.wake()
    assert max(min(rt.next_fast, rt.next_full), rt.not_before) == pytest.approx(clock.mono + 120)
    await client.aclose()


async def test_backoff_grows_with_jitter_and_resets_on_success():
    clock = FakeTime()
    status = {"code": 503}

    def handler(request):
        if status["code"] == 200:
            return httpx.Response(200, json=routing_body())
        return httpx.Response(503, text="Service unavailable", headers={"X-Error-Code": "CIRCUIT_BREAKER_OPEN"})

    engine, client = make_engine(handler, clock, backoff_base_s=10, backoff_max_s=200)
    rt = engine._runtimes["main"]
    delays = []
    for _ in range(7):
        await engine._poll(rt, full=True)
        delays.append(rt.next_full - clock.mono)
    for attempt, delay in enumerate(delays, start=1):
        nominal = min(200, 10 * 2 ** (attempt - 1))
        assert nominal / 2 <= delay <= nominal
    assert delays[-1] > delays[0] * 4
    status["code"] = 200
    await engine._poll(rt, full=True)
    assert rt.error_streak == 0
    await client.aclose()


async def test_quiet_accounts_slow_down_and_near_exhaustion_speeds_up():
    clock = FakeTime()
    body = {"value": routing_body()}
    engine, client = make_engine(lambda r: httpx.Response(200, json=body["value"]), clock,
                                 fast_s=60, full_s=300, quiet_polls_per_step=2, quiet_max_factor=4, near_s=20)
    rt = engine._runtimes["main"]
    intervals = []
    for _ in range(8):
        await engine._poll(rt, full=True)
        intervals.append(round(rt.next_fast - clock.mono))
    # Unchanged answers: 60 s, then doubling every 2 polls, capped at 4x.
    assert intervals[0] == 60 and max(intervals) == 240
    # Near exhaustion (<= 10 % left): 20 s regardless of the quiet factor.
    body["value"] = routing_body(remaining_hour=30)
    await engine._poll(rt, full=True)
    assert round(rt.next_fast - clock.mono) == 20
    await client.aclose()


async def test_poll_right_after_known_reset():
    clock = FakeTime()  # 10:20:00, the hourly window resets at 11:00
    clock.wall = clock.wall.replace(minute=59, second=30)
    engine, client = make_engine(lambda r: httpx.Response(200, json=routing_body()), clock, fast_s=60, reset_grace_s=2)
    rt = engine._runtimes["main"]
    await engine._poll(rt, full=True)
    assert rt.next_fast - clock.mono == pytest.approx(32)
    await client.aclose()


async def test_fast_poll_keeps_meters_of_the_last_full_poll():
    clock = FakeTime()

    def handler(request):
        if request.url.path.endswith("/hourly"):
            return httpx.Response(200, json={"limit": 500, "used": 100, "remaining": 400, "plan_tier": "Premium"})
        return httpx.Response(200, json=routing_body())

    engine, client = make_engine(handler, clock)
    rt = engine._runtimes["main"]
    await engine._poll(rt, full=True)
    snap = await engine._poll(rt, full=False)
    assert snap.meter("requests_hour").remaining == 400
    assert snap.meter("requests_day").remaining == 1380
    await client.aclose()


async def test_no_key_is_a_state_not_a_request():
    calls = []
    engine, client = make_engine(lambda r: calls.append(r) or httpx.Response(200, json={}), FakeTime(), key=None)
    (snap,) = await engine.poll_all()
    await client.aclose()
    assert snap.state is State.NO_KEY and not calls
    assert "keys set main" in snap.error.message


async def test_redirect_is_not_followed_and_key_stays_home():
    seen = []

    def handler(request):
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": "https://evil.example/steal"})

    engine, client = make_engine(handler, FakeTime())
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

    engine, client = make_engine(handler, FakeTime())
    await engine.poll_all()
    status["code"] = 401
    (snap,) = await engine.poll_all()
    await client.aclose()
    assert snap.state is State.AUTH_ERROR
    assert snap.error.message == "Invalid API key"
    assert snap.meter("requests_day").remaining == 1380


async def test_kill_reports_per_account_support():
    def handler(request):
        assert request.method == "POST" and request.url.path.endswith("/user/streams/kill")
        return httpx.Response(200, json={"killed_streams": 2})

    engine, client = make_engine(handler, FakeTime())
    (result,) = await engine.kill_all()
    await client.aclose()
    assert result.supported and result.killed_streams == 2 and result.error is None


def test_default_budget_is_documented_value():
    # README states at most 72 usage requests per account per hour at the defaults.
    assert requests_budget_per_hour() == 72


async def test_snapshot_json_shape():
    engine, client = make_engine(lambda r: httpx.Response(200, json=routing_body()), FakeTime())
    (snap,) = await engine.poll_all()
    await client.aclose()
    data = json.loads(json.dumps(snap.to_json()))
    assert set(data) == {"id", "provider", "label", "state", "plan", "meters", "error", "fetched_at", "notes",
                         "stale", "streams"}
    assert data["streams"] is None  # no gateway in this process
    hour = next(m for m in data["meters"] if m["name"] == "requests_hour")
    assert hour == {"name": "requests_hour", "unit": "requests", "used": 80, "limit": 500, "remaining": 420,
                    "resets_at": "2026-11-22T11:00:00Z", "source": "poll", "seen_at": None}


class CountingSecrets(MemorySecretStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, account_id, management=False):
        self.reads += 1
        return super().get(account_id, management)


async def test_keys_are_read_once_then_again_after_an_auth_error_or_a_while():
    clock = FakeTime()
    status = {"code": 200}

    def handler(request):
        if status["code"] == 401:
            return httpx.Response(401, text="Invalid API key", headers={"X-Error-Code": "AUTHENTICATION_ERROR"})
        return httpx.Response(200, json=routing_body())

    engine, client = make_engine(handler, clock, key_reread_s=1800)
    secrets = CountingSecrets()
    secrets.set("main", "rk_" + "a" * 64)
    engine._secrets = secrets
    rt = engine._runtimes["main"]
    for _ in range(3):
        await engine._poll(rt, full=True)
    assert secrets.reads == 2  # api + management, once
    status["code"] = 401
    await engine._poll(rt, full=True)
    await engine._poll(rt, full=True)  # after an auth error the key is read again
    assert secrets.reads == 4
    status["code"] = 200
    await engine._poll(rt, full=True)
    assert secrets.reads == 6
    clock.advance(1801)
    await engine._poll(rt, full=True)
    assert secrets.reads == 8
    await client.aclose()


class MidpointRng:
    """Equal jitter lands exactly halfway: delay/2 + delay/4."""

    def uniform(self, low: float, high: float) -> float:
        return (low + high) / 2


async def test_repeated_429s_with_a_short_retry_after_still_back_off():
    clock = FakeTime()

    def handler(request):
        return httpx.Response(429, text="Hourly request limit exceeded",
                              headers={"X-Error-Code": "RATE_LIMIT_ERROR", "Retry-After": "1"})

    engine, client = make_engine(handler, clock, backoff_base_s=15, backoff_max_s=900)
    engine._rng = MidpointRng()
    rt = engine._runtimes["main"]
    delays = []
    for _ in range(6):
        await engine._poll(rt, full=True)
        delays.append(rt.next_full - clock.mono)
        clock.advance(delays[-1])
    # 15 s doubling, each at 3/4 of nominal; never the server's 1 s.
    assert delays == [11.25, 22.5, 45.0, 90.0, 180.0, 360.0]
    await client.aclose()
