"""Property tests over everything that reads bytes from outside: every
provider's parse()/error_for() for every request it declares, the kill
parser, rate-limit headers, a whole engine poll through a mock transport,
the config loader, Snapshot.from_json and the snapshot cache loader.

Properties: nothing raises but ProviderError (or, for the loaders, nothing at
all), and no meter makes the badge lie (negative / NaN / inf remaining,
remaining above the limit). Each test reports how many examples it tried.
"""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.strategies import FIELD_NAMES as FIELDS
from tests.strategies import (
    bodies,
    contexts,
    encode,
    examples,
    header_dicts,
    json_values,
    moments,
    numbers,
    statuses,
)
from traywidget.engine.engine import Engine, EngineSettings
from traywidget.model import Account, HttpResult, ProviderError, Snapshot, State
from traywidget.providers import PROVIDER_IDS, get_provider
from traywidget.providers.base import PollContext, Reading, RequestSpec
from traywidget.providers.headers import parse_rate_limit_headers
from traywidget.store.cache import SnapshotCache
from traywidget.store.config import ConfigStore
from traywidget.store.secrets import MemorySecretStore

from .helpers import badge_lies, meter_lie

FAST = settings(max_examples=examples(1.0))
SLOW = settings(max_examples=examples(0.3))  # a whole engine poll, or a file write, per example

field_dicts = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=12)


def declared_specs() -> list[tuple[str, RequestSpec]]:
    """Every RequestSpec each provider declares (fast, full, with/without management key) and its kill."""
    found: dict[tuple[str, str], RequestSpec] = {}
    now = datetime(2026, 1, 1, tzinfo=UTC)
    for pid in PROVIDER_IDS:
        provider = get_provider(pid)
        for full in (False, True):
            for mgmt in (False, True):
                for spec in provider.poll_requests(full, PollContext(now, has_management_key=mgmt)):
                    found[(pid, spec.name)] = spec
        if provider.kill_request() is not None:
            found[(pid, provider.kill_request().name)] = provider.kill_request()
    return sorted(found.items(), key=lambda item: item[0])


SPECS = [(pid, spec) for (pid, _), spec in declared_specs()]


def test_every_declared_request_is_covered():
    names = {(pid, spec.name) for pid, spec in SPECS}
    assert names >= {("routing.run", "hourly"), ("routing.run", "requests"), ("routing.run", "kill"),
                     ("openrouter", "key"), ("openrouter", "credits"),
                     ("routeway", "account_keys"), ("routeway", "balance")}, names


def check_meters(reading: Reading) -> None:
    lies = [why for m in reading.meters if (why := meter_lie(m))]
    assert not lies, lies
    if reading.rate_limited is not None:
        retry = reading.rate_limited.retry_after_s
        assert retry is None or (math.isfinite(retry) and retry >= 0)


def check_error(err: ProviderError) -> None:
    assert isinstance(err.state, State)
    assert isinstance(err.info.message, str) and err.info.message and "\n" not in err.info.message
    retry = err.info.retry_after_s
    assert retry is None or (math.isfinite(retry) and retry >= 0)


# -- provider translation ------------------------------------------------------------


@pytest.mark.slow
def test_parse_of_every_declared_request(report):
    tried = [0]

    @FAST
    @given(st.sampled_from(SPECS), bodies, header_dicts, contexts)
    def run(pair, body, headers, ctx):
        tried[0] += 1
        pid, spec = pair
        provider = get_provider(pid)
        try:
            if spec.name == "kill":
                count = provider.parse_kill(HttpResult(200, headers, body))
                assert isinstance(count, int) and count >= 0
            else:
                check_meters(provider.parse(spec, HttpResult(200, headers, body), ctx))
        except ProviderError as err:
            check_error(err)

    run()
    report(f"fuzz parse(): {tried[0]} examples tried over {len(SPECS)} declared requests")


@pytest.mark.slow
def test_error_for_every_declared_request(report):
    tried = [0]

    @FAST
    @given(st.sampled_from(SPECS), statuses, bodies, header_dicts, contexts)
    def run(pair, status, body, headers, ctx):
        tried[0] += 1
        pid, spec = pair
        err = get_provider(pid).error_for(spec, HttpResult(status, headers, body), ctx)
        assert isinstance(err, ProviderError)
        check_error(err)

    run()
    report(f"fuzz error_for(): {tried[0]} examples tried")


def test_rate_limit_headers(report):
    tried = [0]

    @FAST
    @given(header_dicts, moments)
    def run(headers, now):
        tried[0] += 1
        info = parse_rate_limit_headers(headers, now)
        retry = info.retry_after_s
        assert retry is None or (math.isfinite(retry) and retry >= 0)
        for kind in ("requests", "minute", "day", "tokens"):
            window = info.window(kind)
            if window is not None:
                for value in (window.limit, window.remaining):
                    assert value is None or (math.isfinite(value) and value >= 0)

    run()
    report(f"fuzz parse_rate_limit_headers: {tried[0]} examples tried")


@pytest.mark.slow
def test_a_whole_engine_poll_never_raises_nor_lies(report):
    """Random status, headers and body behind every request of every provider, through the engine."""
    tried = [0]
    secrets = MemorySecretStore()
    accounts = []
    for pid in PROVIDER_IDS:
        accounts.append(Account(pid, pid, pid, get_provider(pid).default_base_url))
        secrets.set(pid, "sk-abc12345def67890wxyz")
        secrets.set(pid, "mgmt-0123456789abcdef", management=True)

    @SLOW
    @given(statuses | st.just(200), bodies, header_dicts)
    def run(status, body, headers):
        tried[0] += 1

        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(status, headers={k: v for k, v in headers.items() if _header_ok(k, v)},
                                  content=body)

        async def poll():
            client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
            engine = Engine(accounts, secrets, client=client, settings=EngineSettings(timeout_s=2))
            try:
                return await engine.poll_all(), await engine.kill_all()
            finally:
                await client.aclose()

        snaps, kills = asyncio.run(poll())
        for snap in snaps:
            assert snap.state is not None
            assert not badge_lies(snap), badge_lies(snap)
            if snap.state not in (State.OK, State.LOW, State.EXHAUSTED):
                assert snap.error is not None and snap.error.message
        for kill in kills:
            assert kill.killed_streams is None or kill.killed_streams >= 0

    run()
    report(f"fuzz engine poll+kill (mock transport): {tried[0]} examples tried, 3 providers each")


def _header_ok(name: str, value: str) -> bool:
    try:
        httpx.Headers({name: value})
        return bool(name) and name.isascii() and value.isascii() and "\n" not in value and "\r" not in value
    except Exception:
        return False


# -- loaders ---------------------------------------------------------------------------


def test_config_loader_on_arbitrary_bytes_and_json(tmp_path: Path, report):
    tried = [0]
    store = ConfigStore(tmp_path)
    config_like = st.fixed_dictionaries(
        {}, optional={"version": json_values, "accounts": st.lists(st.one_of(json_values, st.fixed_dictionaries(
            {"id": st.one_of(st.text(max_size=8), json_values), "provider": st.sampled_from([*PROVIDER_IDS, "x", 1]),
             "base_url": st.sampled_from(["https://api.routing.run/v1", "http://example.com/v1", "ftp://x", "",
                                          "http://127.0.0.1:1/v1", 5])},
            optional={"label": json_values, "fast_interval_s": json_values, "full_interval_s": json_values})),
            max_size=4), "settings": st.one_of(json_values, st.fixed_dictionaries({}, optional={
                "thresholds": json_values, "fast_interval_s": json_values, "pinned_meter": json_values}))})

    @SLOW
    @given(st.one_of(st.binary(max_size=300), st.builds(encode, config_like), st.builds(encode, json_values)))
    def run(raw):
        tried[0] += 1
        for old in tmp_path.iterdir():
            old.unlink()
        store.path.write_bytes(raw)
        config = store.load()
        for account in config.accounts:
            assert account.base_url.startswith("https://") or "127.0.0.1" in account.base_url
        moved = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
        if moved:  # a file that could not be read is kept aside, byte for byte, with a warning
            assert moved[0].read_bytes() == raw and config.warnings and not config.accounts

    run()
    report(f"fuzz ConfigStore.load: {tried[0]} examples tried")


snapshot_like = st.fixed_dictionaries(
    {"id": st.one_of(st.text(max_size=6), json_values), "provider": st.sampled_from([*PROVIDER_IDS, "x"]),
     "state": st.one_of(st.sampled_from([s.value for s in State]), json_values)},
    optional={"label": json_values, "plan": json_values, "error": st.one_of(json_values, field_dicts),
              "fetched_at": st.one_of(json_values, st.just("2026-01-01T00:00:00Z")), "notes": json_values,
              "stale": json_values,
              "meters": st.lists(st.one_of(json_values, st.fixed_dictionaries(
                  {"name": st.text(max_size=6), "unit": st.sampled_from(["requests", "usd", "x"])},
                  optional={"used": numbers, "limit": numbers, "remaining": numbers, "resets_at": json_values,
                            "estimated": json_values})), max_size=3)},
)


@pytest.mark.slow
def test_snapshot_from_json_on_arbitrary_json(report):
    tried = [0]
    allowed = (KeyError, ValueError, TypeError, AttributeError)  # what a loader must be ready to catch

    @FAST
    @given(st.one_of(snapshot_like, json_values))
    def run(data):
        tried[0] += 1
        try:
            snap = Snapshot.from_json(data)
        except allowed:
            return
        assert isinstance(snap.state, State)
        json.dumps(snap.to_json())  # what came in can go out again

    run()
    report(f"fuzz Snapshot.from_json: {tried[0]} examples tried")


def _cache_payloads():
    return st.one_of(
        st.binary(max_size=200),
        st.builds(lambda items: encode({"accounts": items}),
                  st.lists(st.one_of(snapshot_like, json_values), max_size=3)),
        st.builds(encode, json_values),
    )


@pytest.mark.slow
def test_snapshot_cache_load_never_raises(tmp_path: Path, report):
    tried = [0]
    cache = SnapshotCache(tmp_path)

    @FAST
    @example(b'{"accounts": {"a": 1}}')
    @example(b"[" * 100_000)
    @given(_cache_payloads())
    def run(raw):
        tried[0] += 1
        cache.path.write_bytes(raw)
        loaded = cache.load()
        assert all(isinstance(s, Snapshot) and s.stale for s in loaded)

    try:
        run()
    finally:
        report(f"fuzz SnapshotCache.load: {tried[0]} examples tried")


def test_snapshot_cache_never_lets_the_badge_lie(tmp_path: Path):
    cache = SnapshotCache(tmp_path)
    meter = {"name": "requests_hour", "unit": "requests", "used": 1, "limit": 3, "remaining": 5}
    cache.path.write_text(json.dumps({"accounts": [{"id": "a", "provider": "routing.run", "state": "ok",
                                                    "meters": [meter]}]}))
    assert [lie for s in cache.load() for lie in badge_lies(s)] == []


def test_config_loader_survives_deep_nesting(tmp_path: Path):
    store = ConfigStore(tmp_path)
    store.path.write_bytes(b"[" * 100_000)
    config = store.load()
    assert config.warnings and not config.accounts
