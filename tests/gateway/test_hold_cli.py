"""Hold, resume and spend from the command line, end to end: a real headless `traywidget gateway`,
the CLI in other processes, the real keyring on a real Secret Service, the openai SDK as the tool."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.desktop_session import free_port, wait_until
from tests.e2e.cli import cli_env, run_cli
from tests.gateway.test_cli import Headless, _add, _set_port
from traywidget.simulator.frames import openrouter_cost
from traywidget.simulator.records import PLAIN_ANSWER_TOKENS, PROMPT_TOKENS

pytestmark = pytest.mark.slow

ASK = [{"role": "user", "content": "hi"}]


@pytest.fixture
def env(keyring_home, tmp_path):
    _, keyring_env = keyring_home
    return cli_env(keyring_env, tmp_path)


def _status(env) -> dict:
    status = run_cli(env, "status", "--json")
    assert status.code == 0, status.err
    return {a["id"]: a for a in json.loads(status.out)["accounts"]}


def test_kill_hold_status_restart_resume_from_the_command_line(env, sim):
    sim.sim.stream_interval_s = 0.05
    key = sim.sim.add_openrouter_key()
    _add(env, sim, "openrouter", "or-main", key)
    port = free_port()
    _set_port(env, port)
    token = run_cli(env, "gateway", "token").out.strip()
    tool = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/or-main", api_key=token)
    gateway = Headless(env, "--json")
    try:
        with httpx.Client(timeout=20) as client:
            with client.stream("POST", f"http://127.0.0.1:{port}/or-main/chat/completions",
                               headers={"Authorization": f"Bearer {token}"},
                               json={"model": "m", "stream": True, "max_tokens": 100_000, "messages": []}) as stream:
                chunks = stream.iter_raw()
                next(chunks)  # the stream runs (the iterator is kept: dropping it closes the response)
                killed = run_cli(env, "kill", "--hold-until-resume", "--json")
                tail = b"".join(chunks)
        assert killed.code == 0, killed.err
        assert json.loads(killed.out)["accounts"] == [
            {"id": "or-main", "supported": True, "killed_streams": 1, "error": None, "held_until": "resume"}], tail
        with pytest.raises(openai.APIStatusError) as refused:
            tool.chat.completions.create(model="m", messages=ASK, max_tokens=8)
        assert refused.value.status_code == 423
        account = _status(env)["or-main"]
        assert (account["held_until"], account["held_by"]) == ("resume", "kill")
        assert account["rails"] == {"reserve": None, "reserve_window": "hour", "daily_cap": None}
        wait_until(lambda: _status(env)["or-main"]["gateway_usage"]["stopped"] == 1, 10, what="the stop counted")
    finally:
        code, _, err = gateway.end()
    assert code == 0, err

    gateway = Headless(env, "--json")  # a hold is the user's decision: it outlives the gateway
    try:
        with pytest.raises(openai.APIStatusError):
            tool.chat.completions.create(model="m", messages=ASK, max_tokens=8)
        resumed = run_cli(env, "resume", "--json")
        assert (resumed.code, json.loads(resumed.out)) == (0, {"resumed": ["or-main"]})
        answer = tool.chat.completions.create(model="m", messages=ASK, max_tokens=8)  # the very next one
        assert answer.usage.completion_tokens == PLAIN_ANSWER_TOKENS
        wait_until(lambda: _status(env)["or-main"]["gateway_usage"]["requests"] == 2, 10, what="the answer counted")
        usage = _status(env)["or-main"]["gateway_usage"]
        assert {k: usage[k] for k in ("requests", "input_tokens", "output_tokens", "stopped", "cost_unreported")} == {
            "requests": 2, "input_tokens": PROMPT_TOKENS, "output_tokens": PLAIN_ANSWER_TOKENS, "stopped": 1,
            "cost_unreported": 1}
        assert (usage["cost"], usage["currency"]) == (pytest.approx(openrouter_cost(PLAIN_ANSWER_TOKENS)), "USD")
        assert _status(env)["or-main"]["held_until"] is None
    finally:
        code, out, err = gateway.end()
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert any(line["held_until"] == "resume" for line in lines)  # watch's lines showed the hold
    assert lines[-1]["held_until"] is None
    assert run_cli(env, "resume").out.strip() == "No account was held."


def test_accounts_set_edits_the_rails_and_refuses_bad_values(env):
    assert run_cli(env, "accounts", "add", "openrouter", "--id", "or1").code == 0
    done = run_cli(env, "accounts", "set", "or1", "--reserve", "50", "--reserve-window", "hour", "--daily-cap", "5")
    assert (done.code, done.out.strip()) == (0, "or1: reserve 50 requests per hour, daily cap 5.")
    listed = json.loads(run_cli(env, "accounts", "list", "--json").out)["accounts"][0]
    assert (listed["reserve"], listed["reserve_window"], listed["daily_cap"]) == (50, "hour", 5.0)
    bad = run_cli(env, "accounts", "set", "or1", "--daily-cap", "lots")
    assert bad.code == 2 and "the daily cap must be an amount above 0" in bad.err
    off = run_cli(env, "accounts", "set", "or1", "--reserve", "off", "--daily-cap", "off")
    assert off.out.strip() == "or1: no reserve, no daily cap."
    assert run_cli(env, "kill", "--hold", "0").code == 2


def test_a_daily_cap_holds_a_headless_gateway_and_says_so_once(env, sim):
    from traywidget.model import iso, utcnow
    from traywidget.store.spend import next_midnight

    _add(env, sim, "openrouter", "or-main", sim.sim.add_openrouter_key())
    assert run_cli(env, "accounts", "set", "or-main", "--daily-cap", "0.002").code == 0  # one answer costs 0.0025
    port = free_port()
    _set_port(env, port)
    token = run_cli(env, "gateway", "token").out.strip()
    tool = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/or-main", api_key=token)
    gateway = Headless(env)
    try:
        tool.chat.completions.create(model="m", messages=ASK, max_tokens=8)  # crosses the cap: answered
        with pytest.raises(openai.APIStatusError) as refused:
            tool.chat.completions.create(model="m", messages=ASK, max_tokens=8)
        assert refused.value.status_code == 423 and "daily spend cap" in refused.value.message
        account = _status(env)["or-main"]
        assert (account["held_by"], account["held_until"]) == ("daily_cap", iso(next_midnight(utcnow())))
        assert account["rails"]["daily_cap"] == 0.002
    finally:
        code, out, err = gateway.end()
    assert code == 0, err
    assert err.count("traywidget: warning: or-main: held at its daily spend cap\n") == 1, err
    assert "Resume with \"Resume requests\" in the tray menu or: traywidget resume" in err


def test_a_reserve_holds_a_headless_gateways_routing_run_account_from_its_polls(env, sim):
    key = sim.sim.add_routing_key("Free")  # 50 requests an hour
    assert sim.sim.spend(key, 45) == 45  # the user's own tools, directly: 5 left
    _add(env, sim, "routing.run", "rr", key)
    assert run_cli(env, "accounts", "set", "rr", "--reserve", "3", "--reserve-window", "hour").code == 0
    port = free_port()
    _set_port(env, port)
    token = run_cli(env, "gateway", "token").out.strip()
    tool = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/rr", api_key=token)
    gateway = Headless(env)
    try:
        first_poll = gateway.proc.stdout.readline()
        assert first_poll.endswith(" rr — 5 requests left today · Running low this hour\n"), first_poll
        for _ in range(3):  # 4, 3, then 2 left: the third crosses, and is answered
            tool.chat.completions.create(model="m", messages=ASK, max_tokens=8)
        reached = sim.sim.count(key=key)
        with pytest.raises(openai.APIStatusError) as refused:
            tool.chat.completions.create(model="m", messages=ASK, max_tokens=8)
        assert refused.value.status_code == 423 and "held by traywidget (its reserve" in refused.value.response.text
        assert sim.sim.count(key=key) == reached
        assert _status(env)["rr"]["held_by"] == "reserve"
    finally:
        code, out, err = gateway.end()
    assert code == 0, err
    assert err.count("traywidget: warning: rr: held to keep its reserve\n") == 1, err
