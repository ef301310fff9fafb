"""/metrics: the status document as Prometheus families, and the endpoint's guard.

Unit: a status document with every field (including `severity`, `held_until` and `gateway_usage`,
which other parts add) gives exactly these samples, every family has HELP and TYPE, nothing but
`traywidget_` families, and no key, token or provider message text anywhere.
Real: a Gateway in front of the simulator serves /metrics only when turned on, only with the
token, and its figures are the engine's status document's.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.gateway.conftest import Running, sim_accounts
from traywidget.engine.engine import Engine
from traywidget.engine.status import engine_status_document
from traywidget.gateway.counts import GatewayCounts
from traywidget.gateway.metrics import exposition
from traywidget.gateway.server import Gateway
from traywidget.store.secrets import MemorySecretStore

NOW = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)
CANARY_KEY = "sk-or-v1-" + "c11ca4a7" * 8
CANARY_MESSAGE = "Provider says: secret-ish text 7f3a"

DOCUMENT = {"accounts": [
    {"id": "team", "provider": "openrouter", "label": "Team key", "state": "rate_limited", "plan": None,
     "meters": [
         {"name": "requests_minute", "unit": "requests", "used": 20, "limit": 20, "remaining": 0,
          "resets_at": "2026-12-07T12:00:30Z", "source": "traffic", "seen_at": "2026-12-07T11:59:55Z"},
         {"name": "credits", "unit": "usd", "used": 2.5, "limit": None, "remaining": 17.5, "resets_at": None,
          "source": "poll", "seen_at": None}],
     "error": {"message": CANARY_MESSAGE, "http_status": 429, "code": "rate_limit_exceeded"},
     "fetched_at": "2026-12-07T11:59:15Z", "notes": [CANARY_MESSAGE], "stale": False, "streams": 2,
     "severity": "refused", "held_until": "2026-12-07T13:00:00Z",
     "gateway_usage": {"requests": 41, "input_tokens": 1000, "output_tokens": 250, "cost": 0.84,
                       "currency": "USD", "since": "2026-12-07T00:00:00Z"}},
    {"id": "solo", "provider": "routeway", "label": "Solo", "state": "ok", "plan": None, "meters": [],
     "error": None, "fetched_at": None, "notes": [], "stale": False, "streams": None, "held_until": "resume"},
    {"id": "old", "provider": "routing.run", "label": "Old", "state": "ok", "plan": None, "meters": [],
     "error": None, "fetched_at": "2026-12-07T11:58:00Z", "notes": [], "stale": False, "streams": 0},
]}


def samples(text: str) -> dict[tuple, float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_every_figure_of_the_document_is_a_sample_with_the_right_labels():
    counts = GatewayCounts()
    counts.answered("team", "openrouter", 200)
    counts.answered("team", "openrouter", 200)
    counts.answered("team", "openrouter", 429)
    counts.stopped({"team": 2, "solo": 0}, {"team": "openrouter", "solo": "routeway"})
    text = exposition(lambda: DOCUMENT, counts, lambda: NOW).decode()
    got = samples(text)
    team = (("account", "team"), ("provider", "openrouter"))

    def meter(window: str, unit: str) -> tuple:
        return tuple(sorted(team + (("unit", unit), ("window", window))))

    assert got[("traywidget_meter_remaining", meter("requests_minute", "requests"))] == 0
    assert got[("traywidget_meter_limit", meter("requests_minute", "requests"))] == 20
    assert got[("traywidget_meter_reset_timestamp_seconds", meter("requests_minute", "requests"))] == \
        datetime(2026, 12, 7, 12, 0, 30, tzinfo=UTC).timestamp()
    assert got[("traywidget_meter_remaining", meter("credits", "usd"))] == 17.5
    assert ("traywidget_meter_limit", meter("credits", "usd")) not in got  # no cap: no sample, never a 0
    assert got[("traywidget_account_state", tuple(sorted(team + (("state", "rate_limited"),))))] == 1
    assert got[("traywidget_account_state", tuple(sorted(team + (("state", "ok"),))))] == 0
    assert got[("traywidget_account_severity", tuple(sorted(team + (("severity", "refused"),))))] == 1
    assert got[("traywidget_account_reading_age_seconds", team)] == 45
    assert got[("traywidget_account_streams_open", team)] == 2
    assert got[("traywidget_account_hold_active", team)] == 1
    assert got[("traywidget_account_hold_until_timestamp_seconds", team)] == \
        datetime(2026, 12, 7, 13, tzinfo=UTC).timestamp()
    assert got[("traywidget_spend_requests_total", team)] == 41
    assert got[("traywidget_spend_requests_created", team)] == \
        datetime(2026, 12, 7, tzinfo=UTC).timestamp()
    assert got[("traywidget_spend_input_tokens_total", team)] == 1000
    assert got[("traywidget_spend_output_tokens_total", team)] == 250
    assert got[("traywidget_spend_cost_total", tuple(sorted(team + (("currency", "USD"),))))] == 0.84
    assert got[("traywidget_gateway_requests_total", tuple(sorted(team + (("code", "200"),))))] == 2
    assert got[("traywidget_gateway_requests_total", tuple(sorted(team + (("code", "429"),))))] == 1
    assert got[("traywidget_gateway_rate_limited_responses_total", team)] == 1
    assert got[("traywidget_gateway_streams_killed_total", team)] == 2

    solo = (("account", "solo"), ("provider", "routeway"))
    assert got[("traywidget_account_hold_active", solo)] == 1  # held until resumed: no end time
    assert ("traywidget_account_hold_until_timestamp_seconds", solo) not in got
    assert ("traywidget_account_streams_open", solo) not in got  # no gateway figure: none, never a 0
    assert ("traywidget_account_reading_age_seconds", solo) not in got
    old = (("account", "old"), ("provider", "routing.run"))
    assert got[("traywidget_account_streams_open", old)] == 0
    assert ("traywidget_account_hold_active", old) not in got  # a document without `held_until`: no family rows
    assert ("traywidget_account_severity", old) not in got


def test_every_family_has_help_and_type_and_only_traywidget_families():
    text = exposition(lambda: DOCUMENT, GatewayCounts(), lambda: NOW).decode()
    names = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    helped = {line.split()[2] for line in text.splitlines() if line.startswith("# HELP")}
    assert names == helped
    assert names == {
        "traywidget_meter_remaining", "traywidget_meter_limit", "traywidget_meter_reset_timestamp_seconds",
        "traywidget_account_state", "traywidget_account_severity", "traywidget_account_reading_age_seconds",
        "traywidget_account_streams_open", "traywidget_account_hold_active",
        "traywidget_account_hold_until_timestamp_seconds",
        "traywidget_gateway_requests_total", "traywidget_gateway_rate_limited_responses_total",
        "traywidget_gateway_streams_killed_total"} | {
        # the day's spend counters, each with the time it began counting (`gateway_usage.since`)
        f"traywidget_spend_{what}_{suffix}" for what in ("requests", "input_tokens", "output_tokens", "cost")
        for suffix in ("total", "created")}
    for line in text.splitlines():
        assert line.startswith(("# HELP traywidget_", "# TYPE traywidget_", "traywidget_")), line


def test_no_key_token_label_or_provider_message_in_the_exposition():
    text = exposition(lambda: DOCUMENT, GatewayCounts(), lambda: NOW).decode()
    for secret in (CANARY_KEY, CANARY_MESSAGE, "Team key", "secret-ish"):
        assert secret not in text


def test_a_document_of_today_without_the_new_fields_has_no_rows_for_them():
    document = {"accounts": [DOCUMENT["accounts"][2]]}
    got = samples(exposition(lambda: document, GatewayCounts(), lambda: NOW).decode())
    assert not [key for key in got if key[0].startswith(("traywidget_spend_", "traywidget_account_hold",
                                                          "traywidget_account_severity"))]


@pytest.fixture
async def metrics_gateway(sim):
    """A gateway wired to an engine as `traywidget gateway --metrics` wires them (observations and stream
    counts to the engine, /metrics reading the engine's status document), in front of the simulator."""
    accounts, keys = sim_accounts(sim)
    keys["rw"] = sim.sim.add_routeway_key(minute_limit=1)
    store = MemorySecretStore()
    for account_id, key in keys.items():
        store.set(account_id, key)
    engine = Engine(accounts, store)
    gateway = Gateway(accounts, store, observe=engine.observe, on_streams=engine.set_streams)
    await gateway.start(0)
    for account in accounts:
        engine.set_streams(account.id, 0)
    running = Running(gateway, store)
    running.engine, running.keys = engine, keys
    yield running
    await gateway.stop()
    await engine.stop()


async def test_metrics_are_off_until_turned_on_and_need_the_token(metrics_gateway, client):
    running = metrics_gateway
    url = running.root + "/metrics"
    off = await client.get(url, headers=running.auth)
    assert off.status_code == 404  # an unknown account's address, as before
    assert off.json()["error"]["code"] == "unknown_account"
    running.gateway.metrics_document = lambda: engine_status_document(running.engine)
    without = await client.get(url)
    assert without.status_code == 401
    assert without.json()["error"]["code"] == "missing_gateway_token"
    wrong = await client.get(url, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    web_page = await client.get(url, headers={**running.auth, "Origin": "https://evil.example"})
    assert web_page.status_code == 403
    rebound = await client.get(url, headers={**running.auth, "Host": "evil.example"})
    assert rebound.status_code == 403
    ok = await client.get(url, headers=running.auth)
    assert ok.status_code == 200
    assert ok.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"


async def test_the_figures_are_the_engines_status_document(metrics_gateway, client):
    running = metrics_gateway
    engine = running.engine
    running.gateway.metrics_document = lambda: engine_status_document(engine)
    await engine.poll_all()
    chat = await client.post(running.url("or", "/chat/completions"), headers=running.auth,
                             json={"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
    assert chat.status_code == 200
    text = (await client.get(running.root + "/metrics", headers=running.auth)).text
    got = samples(text)
    document = engine_status_document(engine)
    compared = 0
    for account in document["accounts"]:
        for meter in account["meters"]:
            labels = tuple(sorted({"account": account["id"], "provider": account["provider"],
                                   "window": meter["name"], "unit": meter["unit"]}.items()))
            for field in ("remaining", "limit"):
                key = (f"traywidget_meter_{field}", labels)
                if meter[field] is None:
                    assert key not in got
                else:
                    assert got[key] == meter[field]
                    compared += 1
    assert compared >= 6
    assert got[("traywidget_gateway_requests_total",
                (("account", "or"), ("code", "200"), ("provider", "openrouter")))] == 1
    for secret in running.keys.values():
        assert secret not in text
    assert running.token not in text


OR = (("account", "or"), ("provider", "openrouter"))
RW = (("account", "rw"), ("provider", "routeway"))


async def test_streams_open_killed_and_429s_are_counted_by_the_real_gateway(metrics_gateway, client):
    running = metrics_gateway
    running.gateway.metrics_document = lambda: engine_status_document(running.engine)
    url = running.root + "/metrics"
    stream = {"model": "m", "stream": True, "max_tokens": 10_000, "messages": []}
    context = client.stream("POST", running.url("or", "/chat/completions"), headers=running.auth, json=stream)
    reply = await context.__aenter__()
    chunks = reply.aiter_raw()
    await asyncio.wait_for(chunks.__anext__(), 10)
    during = samples((await client.get(url, headers=running.auth)).text)
    assert during[("traywidget_account_streams_open", OR)] == 1
    assert await running.gateway.kill_all() == {"or": 1}
    async for _ in chunks:
        pass
    await context.__aexit__(None, None, None)
    chat = {"model": "m:free", "messages": []}
    answers = [(await client.post(running.url("rw", "/chat/completions"), headers=running.auth, json=chat)).status_code
               for _ in range(3)]
    assert answers == [200, 429, 429]
    after = samples((await client.get(url, headers=running.auth)).text)
    assert after[("traywidget_gateway_streams_killed_total", OR)] == 1
    assert after[("traywidget_account_streams_open", OR)] == 0
    assert after[("traywidget_gateway_requests_total", tuple(sorted(OR + (("code", "200"),))))] == 1
    assert after[("traywidget_gateway_requests_total", tuple(sorted(RW + (("code", "200"),))))] == 1
    assert after[("traywidget_gateway_requests_total", tuple(sorted(RW + (("code", "429"),))))] == 2
    assert after[("traywidget_gateway_rate_limited_responses_total", RW)] == 2
    assert after[("traywidget_account_state", tuple(sorted(RW + (("state", "rate_limited"),))))] == 1
