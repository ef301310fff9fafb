"""Stop and hold, guard rails and spend from traffic, with the real openai and anthropic SDKs as
clients, through a real Gateway in front of the simulator.

One fake clock drives the simulator, the gateway, the hold book and the spend book, so a window's
reset and the next local midnight arrive when a test says, never after a sleep."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.gateway.conftest import eventually, sim_accounts
from traywidget.engine.engine import Engine
from traywidget.gateway.server import Gateway
from traywidget.model import (
    HOLD_DAILY_CAP,
    HOLD_KILL,
    HOLD_RESERVE,
    Account,
    GatewayUsage,
    Hold,
    Rails,
    utcnow,
)
from traywidget.simulator.frames import openrouter_cost
from traywidget.simulator.records import PLAIN_ANSWER_TOKENS, PROMPT_TOKENS
from traywidget.store.holds import HoldBook
from traywidget.store.secrets import MemorySecretStore
from traywidget.store.spend import SpendBook, next_midnight

MODEL = "gpt-4o-mini"
ASK = [{"role": "user", "content": "hi"}]


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Held:
    gateway: Gateway
    store: MemorySecretStore
    holds: HoldBook
    spend: SpendBook
    told_holds: dict[str, Hold | None] = field(default_factory=dict)
    told_usage: dict[str, GatewayUsage] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)  # every request an SDK sent to the gateway

    @property
    def token(self) -> str:
        assert self.gateway.token
        return self.gateway.token

    def url(self, account_id: str) -> str:
        return self.gateway.url_for(account_id)

    async def _count(self, request) -> None:
        self.sent.append(request.url.path)

    def openai(self, account_id: str) -> openai.AsyncOpenAI:
        http = openai.DefaultAsyncHttpxClient(event_hooks={"request": [self._count]})
        return openai.AsyncOpenAI(base_url=self.url(account_id), api_key=self.token, http_client=http)

    def anthropic(self, account_id: str) -> anthropic.AsyncAnthropic:
        http = anthropic.DefaultAsyncHttpxClient(event_hooks={"request": [self._count]})
        return anthropic.AsyncAnthropic(base_url=self.url(account_id), api_key=self.token, http_client=http)

    async def control(self, path: str, body: dict) -> dict:
        async with httpx.AsyncClient() as http:
            reply = await http.post(f"http://127.0.0.1:{self.gateway.port}/_traywidget/{path}", json=body,
                                    headers={"Authorization": f"Bearer {self.token}"})
        assert reply.status_code == 200, reply.text
        return reply.json()


@pytest.fixture
def clock(sim):
    clock = Clock(utcnow().replace(hour=10, minute=0, second=0, microsecond=0))
    original, sim.sim.clock = sim.sim.clock, clock
    yield clock
    sim.sim.clock = original


@pytest.fixture
async def start_held(tmp_path: Path, clock: Clock):
    started: list[Gateway] = []

    async def start(accounts: list[Account], keys: dict[str, str], store: MemorySecretStore | None = None) -> Held:
        if store is None:
            store = MemorySecretStore()
            for account_id, key in keys.items():
                store.set(account_id, key)
        holds = HoldBook(tmp_path / "holds.json", now=clock)
        spend = SpendBook(tmp_path / "usage.json", now=clock)
        told_holds: dict[str, Hold | None] = {}
        told_usage: dict[str, GatewayUsage] = {}
        gateway = Gateway(accounts, store, now=clock, holds=holds, spend=spend, on_hold=told_holds.__setitem__,
                          on_usage=told_usage.__setitem__)
        held = Held(gateway, store, holds, spend, told_holds, told_usage)
        await held.gateway.start(0)
        started.append(held.gateway)
        return held

    yield start
    for gateway in started:
        await gateway.stop()


def _oc(sim, rails: Rails | None = None, rpm: int = 60) -> tuple[list[Account], dict[str, str]]:
    key = sim.sim.add_openai_compatible_key(rpm=rpm)
    return [Account("oc", "openai-compatible", "OC", sim.url("openai-compatible"), rails=rails or Rails())], {"oc": key}


# --- stop and hold ------------------------------------------------------------------------------


async def test_openai_sdk_stream_killed_with_a_hold_then_twenty_refused_then_resume(sim, start_held):
    accounts, keys = _oc(sim)
    running = await start_held(accounts, keys)
    client = running.openai("oc")
    stream = await client.chat.completions.create(model=MODEL, messages=ASK, stream=True, max_tokens=100_000)
    first = await stream.__anext__()
    assert first.choices[0].delta.content

    answer = await running.control("kill", {"hold": True, "minutes": None})

    assert answer == {"stopped": {"oc": 1}, "held": {"oc": "resume"}}
    with pytest.raises(openai.APIError, match="Stopped from traywidget"):
        async for _ in stream:
            pass
    reached = sim.sim.count(key=keys["oc"])
    sent_before = len(running.sent)
    for _ in range(20):  # an agent's loop, with the SDK's default retries
        with pytest.raises(openai.APIStatusError) as refused:
            await client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8)
        assert refused.value.status_code == 423
        assert refused.value.response.headers["x-should-retry"] == "false"
        assert "held by traywidget" in refused.value.message and "traywidget resume" in refused.value.message
    assert len(running.sent) - sent_before == 20  # not one retry
    assert sim.sim.count(key=keys["oc"]) == reached  # not one reached the provider
    assert running.told_holds["oc"] == Hold(HOLD_KILL, running.gateway._now(), None)

    assert await running.control("resume", {}) == {"resumed": ["oc"]}

    answer = await client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8)
    assert answer.usage.completion_tokens == PLAIN_ANSWER_TOKENS
    assert running.told_holds["oc"] is None
    await client.close()


async def test_anthropic_sdk_stream_killed_with_a_hold_then_twenty_refused_then_resume(sim, start_held):
    accounts, keys = _oc(sim)
    running = await start_held(accounts, keys)
    client = running.anthropic("oc")
    stream = await client.messages.create(model="claude-3-5-haiku-latest", max_tokens=100_000, messages=ASK,
                                          stream=True)
    await eventually(lambda: running.gateway.stream_counts()["oc"] == 1, what="the stream open")
    assert (await stream.__anext__()).type == "message_start"

    await running.control("kill", {"hold": True, "minutes": 30, "accounts": ["oc"]})

    with pytest.raises(anthropic.APIError, match="Stopped from traywidget"):
        async for _ in stream:
            pass
    reached, sent_before = sim.sim.count(key=keys["oc"]), len(running.sent)
    for _ in range(20):
        with pytest.raises(anthropic.APIStatusError) as refused:
            await client.messages.create(model="claude-3-5-haiku-latest", max_tokens=8, messages=ASK)
        assert refused.value.status_code == 423
        assert refused.value.body["error"]["type"] == "permission_error"
        assert "held by traywidget" in refused.value.body["error"]["message"]
    assert (len(running.sent) - sent_before, sim.sim.count(key=keys["oc"])) == (20, reached)

    assert await running.control("resume", {"accounts": ["oc"]}) == {"resumed": ["oc"]}
    message = await client.messages.create(model="claude-3-5-haiku-latest", max_tokens=8, messages=ASK)
    assert message.usage.output_tokens == PLAIN_ANSWER_TOKENS
    await client.close()


@pytest.mark.slow  # waits for the gateway's one-second look at the holds
async def test_a_hold_survives_a_gateway_restart_and_ends_by_itself(sim, start_held, clock):
    accounts, keys = _oc(sim)
    first = await start_held(accounts, keys)
    first.gateway.hold(None, minutes=30)
    await first.gateway.stop()

    again = await start_held(accounts, keys, store=first.store)  # a new process would read the same file
    client = again.openai("oc")
    assert again.told_holds["oc"] == Hold(HOLD_KILL, clock.now, clock.now + timedelta(minutes=30))
    with pytest.raises(openai.APIStatusError) as refused:
        await client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8)
    assert refused.value.status_code == 423

    clock.advance(minutes=30)  # the very moment it ends

    assert (await client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8)).usage.total_tokens == 20
    await eventually(lambda: again.told_holds["oc"] is None, what="the hold's end told")
    assert again.holds.all_active() == {}
    await client.close()


async def test_a_hold_written_by_another_process_applies_to_the_very_next_request(sim, start_held, tmp_path, clock):
    accounts, keys = _oc(sim)
    running = await start_held(accounts, keys)
    client = running.openai("oc")
    other = HoldBook(tmp_path / "holds.json", now=clock)  # `traywidget kill --hold` with no gateway to ask
    other.hold(["oc"], HOLD_KILL, None)
    with pytest.raises(openai.APIStatusError):
        await client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8)
    other.resume()
    assert (await client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8)).usage.total_tokens == 20
    await client.close()


# --- guard rails ----------------------------------------------------------------------------------


async def test_a_reserve_holds_at_the_exact_crossing_and_releases_at_the_reset(sim, start_held, clock):
    accounts, keys = _oc(sim, Rails(reserve=3), rpm=5)
    running = await start_held(accounts, keys)
    client = running.openai("oc")
    for _ in range(3):  # 4, 3, then 2 left: the third crosses, and is answered
        assert (await client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8)).usage
    hold = running.holds.active("oc")
    assert hold is not None and hold.reason == HOLD_RESERVE
    assert hold.until == clock.now + timedelta(seconds=36)  # the requests window is full again then (3 × 60/5 s)
    reached = sim.sim.count(key=keys["oc"])
    with pytest.raises(openai.APIStatusError) as refused:
        await client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8)
    assert refused.value.status_code == 423 and "reserve" in refused.value.message
    assert sim.sim.count(key=keys["oc"]) == reached

    clock.advance(seconds=36)

    assert (await client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8)).usage
    assert running.holds.active("oc") is None  # 4 left again: no new hold
    await client.close()


async def test_a_reserve_on_routing_run_watches_its_polls_less_the_requests_answered_since(sim, start_held, clock):
    # routing.run's answers carry no plan windows (its X-RateLimit headers are per IP): the reserve reads polls.
    key = sim.sim.add_routing_key("Premium")  # 500 requests an hour
    _spend_directly(sim, key, clock, 492)  # the user's own tools: 8 left this hour
    accounts = [Account("rr", "routing.run", "RR", sim.url("routing.run"),
                        rails=Rails(reserve=5, reserve_window="hour"))]
    running = await start_held(accounts, {"rr": key})
    engine = Engine(accounts, running.store, now=clock)
    engine.subscribe(running.gateway.polled)
    client = running.openai("rr")
    try:
        await engine.poll_all()
        assert running.holds.active("rr") is None  # 8 left: above the reserve
        for _ in range(4):  # 7, 6, 5, then 4 left: the fourth crosses, and is answered
            assert (await client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8)).usage
        hour_reset = clock.now.replace(minute=0, second=0) + timedelta(hours=1)
        assert running.holds.active("rr") == Hold(HOLD_RESERVE, clock.now, hour_reset)
        reached = sim.sim.count(key=key)
        with pytest.raises(openai.APIStatusError) as refused:
            await client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8)
        # In routing.run's own error shape: plain text, the code in X-Error-Code.
        assert refused.value.status_code == 423 and "held by traywidget (its reserve" in refused.value.response.text
        assert sim.sim.count(key=key) == reached

        clock.now = hour_reset  # a new hour: the last poll's window says nothing more

        assert (await client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8)).usage
        assert running.holds.active("rr") is None
        _spend_directly(sim, key, clock, 497)  # 2 left, seen by the next poll, which holds at once
        await engine.poll_all()
        assert running.holds.active("rr") == Hold(HOLD_RESERVE, clock.now, hour_reset + timedelta(hours=1))
    finally:
        await client.close()
        await engine.stop()


def _spend_directly(sim, key: str, clock: Clock, n: int) -> None:
    """n requests on routing.run not through the gateway, at most 100 a minute as its plans allow."""
    while n:
        accepted = sim.sim.spend(key, min(n, 100))
        assert accepted
        n -= accepted
        clock.advance(seconds=61)  # out of the per-minute window


async def test_a_daily_cap_holds_at_the_exact_crossing_and_releases_at_midnight(sim, start_held, clock):
    key = sim.sim.add_openrouter_key()
    one = openrouter_cost(PLAIN_ANSWER_TOKENS)
    accounts = [Account("or", "openrouter", "OR", sim.url("openrouter"), rails=Rails(daily_cap=2 * one))]
    running = await start_held(accounts, {"or": key})
    client = running.openai("or")
    await client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8)
    assert running.holds.active("or") is None  # one request's cost: under the cap
    await client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8)  # reaches it: answered
    hold = running.holds.active("or")
    assert hold == Hold(HOLD_DAILY_CAP, clock.now, next_midnight(clock.now))
    with pytest.raises(openai.APIStatusError) as refused:
        await client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8)
    assert refused.value.status_code == 423 and "daily spend cap" in refused.value.message

    clock.now = next_midnight(clock.now)

    await client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8)
    assert running.gateway.usage_today()["or"].total.requests == 1  # a new day counts from zero
    assert running.holds.active("or") is None
    await client.close()


# --- spend from traffic -----------------------------------------------------------------------------


@pytest.mark.slow  # the simulator paces its streams in real time
async def test_usage_totals_equal_what_the_simulator_sent_on_every_provider_shape(sim, start_held):
    accounts, keys = sim_accounts(sim)
    more, oc_keys = _oc(sim)
    running = await start_held(accounts + more, {**keys, **oc_keys})
    for account_id in ("rr", "or", "rw", "oc"):
        client = running.openai(account_id)
        await client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8)  # JSON
        stream = await client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=5, stream=True,
                                                      stream_options={"include_usage": True})
        async for _ in stream:
            pass
        await client.close()
    claude = running.anthropic("oc")
    await claude.messages.create(model="claude-3-5-haiku-latest", max_tokens=8, messages=ASK)
    async with claude.messages.stream(model="claude-3-5-haiku-latest", max_tokens=6, messages=ASK) as stream:
        await stream.get_final_message()
    await claude.close()

    usage = {a: u.to_json() for a, u in running.gateway.usage_today().items()}
    tokens = {"requests": 2, "input_tokens": 2 * PROMPT_TOKENS, "output_tokens": PLAIN_ANSWER_TOKENS + 5,
              "stopped": 0}
    for account_id in ("rr", "rw"):
        assert usage[account_id] | {"models": None} == {
            "since": usage[account_id]["since"], **tokens, "cost": None, "currency": None, "cost_unreported": 2,
            "models": None}
    assert usage["or"]["cost"] == pytest.approx(openrouter_cost(PLAIN_ANSWER_TOKENS) + openrouter_cost(5), abs=1e-12)
    assert {k: usage["or"][k] for k in tokens} == tokens
    assert (usage["or"]["currency"], usage["or"]["cost_unreported"]) == ("USD", 0)
    assert {k: usage["oc"][k] for k in tokens} == {
        "requests": 4, "input_tokens": 4 * PROMPT_TOKENS, "output_tokens": 2 * PLAIN_ANSWER_TOKENS + 5 + 6,
        "stopped": 0}
    assert usage["oc"]["models"]["claude-3-5-haiku-latest"]["output_tokens"] == PLAIN_ANSWER_TOKENS + 6
    assert running.told_usage["oc"].total.requests == 4
    # The book on disk says the same (what `traywidget status` in another process reads).
    running.spend.flush()
    assert SpendBook(running.spend.path, now=running.gateway._now).today("or").to_json() == usage["or"]


async def test_a_killed_stream_is_counted_as_stopped_with_what_was_reported(sim, start_held):
    accounts, keys = _oc(sim)
    running = await start_held(accounts, keys)
    claude, gpt = running.anthropic("oc"), running.openai("oc")
    messages = await claude.messages.create(model="claude-3-5-haiku-latest", max_tokens=50_000, messages=ASK,
                                            stream=True)
    chat = await gpt.chat.completions.create(model=MODEL, messages=ASK, max_tokens=50_000, stream=True,
                                             stream_options={"include_usage": True})
    await messages.__anext__()
    await chat.__anext__()

    await running.gateway.kill_all()

    for stream, error in ((messages, anthropic.APIError), (chat, openai.APIError)):
        with pytest.raises(error):
            async for _ in stream:
                pass
    usage = running.gateway.usage_today()["oc"]
    # message_start said 12 in and 1 out; the chat stream's usage would only have come at its end.
    assert usage.total.to_json() == {"requests": 2, "input_tokens": PROMPT_TOKENS, "output_tokens": 1, "cost": None,
                                     "currency": None, "cost_unreported": 2, "stopped": 2}
    await claude.close()
    await gpt.close()


# --- the words after a kill -----------------------------------------------------------------------


async def test_the_kill_summary_says_exactly_what_was_stopped_and_where(sim, start_held):
    from traywidget.engine.engine import Engine
    from traywidget.gateway.kills import kill_everywhere
    from traywidget.present.alerts import kill_summary
    from traywidget.providers import get_provider

    accounts, keys = sim_accounts(sim)  # rr "Main" (routing.run, a kill API), or "OR", rw "RW"
    running = await start_held(accounts, keys)
    streams = []
    for account_id in ("or", "or", "rw"):  # through the gateway
        client = running.openai(account_id)
        stream = await client.chat.completions.create(model=MODEL, messages=ASK, stream=True, max_tokens=100_000)
        await stream.__anext__()
        streams.append((client, stream))
    for key in (keys["rr"], keys["rr"], keys["or"]):  # opened directly by a tool, not through the gateway
        assert sim.start_stream(key) is None
    engine = Engine(accounts, running.store)
    through: dict[str, int] = {}

    async def stop_through_gateway() -> dict[str, int]:
        through.update(await running.gateway.kill_all())
        return through

    try:
        results = await kill_everywhere(stop_through_gateway, engine.kill_all)
    finally:
        await engine.stop()
    alert = kill_summary(results, {a.id: a.label for a in accounts}, through,
                         {a.id: get_provider(a.provider).supports_kill for a in accounts})

    assert alert.title == "Stopped 3 streams through the gateway (OR 2, RW 1) and 2 on Main"
    assert alert.body == "Streams your tools opened directly to OR or RW cannot be stopped from here."
    # Each part is true: the direct OpenRouter stream runs on; nothing else does.
    await eventually(lambda: sim.sim.stream_stats(keys["rr"])["active"] == 0, what="routing.run's streams killed")
    assert (sim.sim.stream_stats(keys["or"])["active"], sim.sim.stream_stats(keys["rw"])["active"]) == (1, 0)
    for client, stream in streams:
        with pytest.raises(openai.APIError):
            async for _ in stream:
                pass
        await client.close()
