"""/_sim control endpoints, server lifecycle, the demo world, and the pure state."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from traywidget.simulator import ManualClock, Simulator, SimulatorServer, build_demo


def wait_for(predicate, seconds=3.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_control_endpoints(client, server, sim):
    root = f"http://127.0.0.1:{server.port}/_sim"
    assert client.get(f"{root}/health").json() == {"ok": True}
    account = client.post(f"{root}/account", json={"provider": "routing.run", "plan": "Lite"}).json()
    key = account["api_key"]
    assert client.post(f"{root}/spend", json={"key": key, "n": 3}).json() == {"ok": True, "accepted": 3}
    assert sim.routing_usage(key)["requests_used_today"] == 3
    client.post(f"{root}/fault", json={"key": key, "fault": "status_429", "params": {"retry_after": 3, "count": 1}})
    rr = server.url("routing.run")
    assert client.get(f"{rr}/user/requests", headers={"X-API-Key": key}).status_code == 429
    client.post(f"{root}/fault", json={"key": key, "fault": "status_403"})
    client.post(f"{root}/clear", json={"key": key})
    assert client.get(f"{rr}/user/requests", headers={"X-API-Key": key}).status_code == 200
    counted = client.get(f"{root}/requests", params={"provider": "routing.run", "key": key, "path": "user/requests"})
    assert counted.json()["count"] == 2
    started = client.post(f"{root}/stream/start", json={"key": key}).json()
    assert started["started"] is True
    assert client.get(f"{root}/streams").json()["streams"]["routing.run"]["active"] >= 1
    assert client.post(f"{rr}/user/streams/kill", headers={"X-API-Key": key}).json() == {"killed_streams": 1}
    assert wait_for(lambda: client.get(f"{root}/streams").json()["streams"]["routing.run"]["active"] == 0)
    bad = client.post(f"{root}/fault", json={"key": key, "fault": "meteor"})
    assert bad.status_code == 400 and bad.json()["ok"] is False


def test_control_endpoints_for_streams_and_settings(client, server, sim):
    root = f"http://127.0.0.1:{server.port}/_sim"
    account = client.post(f"{root}/account", json={"provider": "openai-compatible", "rpm": 2}).json()
    key = account["api_key"]
    assert account == {"ok": True, "provider": "openai-compatible", "api_key": key, "management_key": None}
    assert key.startswith("sk-sim-") and sim.openai_windows(key)["requests"][0] == 2
    assert client.post(f"{root}/configure", json={"key": key, "rpm": 5}).json() == {"ok": True}
    assert sim.openai_windows(key)["requests"][0] == 5
    bad = client.post(f"{root}/configure", json={"key": key, "requests": 1})
    assert bad.status_code == 400 and "cannot configure 'requests'" in bad.json()["error"]
    assert client.post(f"{root}/configure", json={"key": "sk-nobody", "rpm": 1}).status_code == 400
    script = {"key": key, "count": 1, "events": 2, "interval_s": 0, "error_after": 1, "error": "tokens"}
    assert client.post(f"{root}/stream/script", json=script).json() == {"ok": True}
    base = server.url("openai-compatible")
    response = client.post(f"{base}/chat/completions", headers={"Authorization": f"Bearer {key}"},
                           json={"stream": True})
    assert '"type":"tokens"' in response.text
    streams = client.get(f"{root}/streams", params={"key": key}).json()["streams"]
    assert (streams["error"], streams["active"]) == (1, 0)
    assert client.get(f"{root}/streams").json()["streams"]["openai-compatible"]["error"] >= 1
    client.post(f"{root}/stream/script", json={"key": key, "events": 1, "interval_s": 0})
    assert client.post(f"{root}/clear", json={"key": key}).json() == {"ok": True}
    response = client.post(f"{base}/chat/completions", headers={"Authorization": f"Bearer {key}"},
                           json={"stream": True, "max_tokens": 3})
    assert response.text.count('"content"') == 3  # the script was cleared with the key's faults
    routing = client.post(f"{root}/account", json={"provider": "routing.run"}).json()["api_key"]
    assert client.post(f"{root}/configure", json={"key": routing, "stream_limit": 1,
                                                  "stream_denial": "sse"}).json() == {"ok": True}
    refused = client.post(f"{root}/configure", json={"key": routing, "stream_denial": "never"})
    assert refused.status_code == 400


@pytest.mark.slow
def test_reset_clears_world_but_keeps_keys(client, server):
    with SimulatorServer() as own, httpx.Client() as c:
        key = own.sim.add_routing_key()
        own.sim.spend(key, 4)
        own.sim.inject(key, "status_401")
        own.sim.script_streams(key, events=1)
        assert c.post(f"http://127.0.0.1:{own.port}/_sim/reset").json() == {"ok": True}
        body = c.get(f"{own.url('routing.run')}/user/requests", headers={"X-API-Key": key}).json()
        assert body["requests_used_today"] == 0
        assert own.sim.count() == 1
        streamed = c.post(f"{own.url('routing.run')}/chat/completions", headers={"X-API-Key": key},
                          json={"stream": True, "max_tokens": 2}, timeout=10)
        assert streamed.text.count('"content"') == 2  # the script went with the reset


def test_server_lifecycle_is_clean():
    before = set(threading.enumerate())
    server = SimulatorServer().start()
    key = server.sim.add_routing_key()
    server.sim.inject(key, "hang")
    server.start_stream(key)
    hung = threading.Thread(target=lambda: httpx.get(f"{server.url('routing.run')}/user/requests",
                                                       headers={"X-API-Key": key}, timeout=10))
    hung.start()
    assert wait_for(lambda: server.sim.count(key=key) == 1)
    server.stop()
    hung.join(5)
    assert not hung.is_alive()
    assert server.sim.active_streams() == []
    assert set(threading.enumerate()) <= before
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url('routing.run')}/user/requests", timeout=1)
    server.stop()  # idempotent


def test_urls_and_port():
    with SimulatorServer() as server:
        assert server.port > 0
        assert server.url("routing.run") == f"http://127.0.0.1:{server.port}/routing.run/v1"
        assert server.url("openrouter") == f"http://127.0.0.1:{server.port}/openrouter/api/v1"
        assert server.url("routeway") == f"http://127.0.0.1:{server.port}/routeway/v1"
        assert server.url("openai-compatible") == f"http://127.0.0.1:{server.port}/openai-compatible/v1"


def test_busy_port_raises():
    with SimulatorServer() as first:
        with pytest.raises(OSError):
            SimulatorServer(port=first.port).start()


def test_demo_world_over_http():
    with SimulatorServer() as server, httpx.Client() as c:
        accounts = build_demo(server.sim)
        assert {a["provider"] for a in accounts} == {"routing.run", "openrouter", "routeway", "litellm", "deepseek",
                                                     "moonshot", "openai-compatible"}
        assert len({a["api_key"] for a in accounts}) == len(accounts)
        by_id = {a["id"]: a for a in accounts}
        main = by_id["demo-routing-run"]["api_key"]
        assert wait_for(lambda: len(server.sim.active_streams(main)) == 1)
        killed = c.post(f"{server.url('routing.run')}/user/streams/kill", headers={"X-API-Key": main})
        assert killed.json() == {"killed_streams": 1}
        mgmt = by_id["demo-routeway"]["management_key"]
        assert c.get(f"{server.url('routeway')}/account/keys",
                     headers={"Authorization": f"Bearer {mgmt}"}).status_code == 200
        orm = by_id["demo-openrouter"]["management_key"]
        assert c.get(f"{server.url('openrouter')}/credits",
                     headers={"Authorization": f"Bearer {orm}"}).status_code == 200
        # The OpenAI-compatible demo account answers chat and Anthropic's /messages on one key.
        compatible = by_id["demo-compatible"]["api_key"]
        base = server.url("openai-compatible")
        chat = c.post(f"{base}/chat/completions", headers={"Authorization": f"Bearer {compatible}"},
                      json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
        assert chat.status_code == 200 and chat.json()["object"] == "chat.completion"
        messages = c.post(f"{base}/messages",
                          headers={"x-api-key": compatible, "anthropic-version": "2023-06-01"},
                          json={"model": "m", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})
        assert messages.status_code == 200 and messages.json()["type"] == "message"


def test_demo_counters_move_and_429_repeats():
    clock = ManualClock()
    sim = Simulator(clock)
    accounts = {a["id"]: a for a in build_demo(sim)}
    low = accounts["demo-routing-run-low"]["api_key"]
    orkey = accounts["demo-openrouter"]["api_key"]
    start = sim.routing_hourly(low)["remaining"]
    for _ in range(12):  # two simulated minutes in 10 s steps
        clock.advance(10)
        sim.tick()
    remaining = sim.routing_hourly(low)["remaining"]
    assert remaining <= start - 55 and remaining / 500 < 0.2  # low within ~2 minutes
    fault = sim.take_fault(orkey)
    assert fault is not None and fault.kind == "status_429" and fault.params == {"retry_after": 20}
    assert sim.take_fault(orkey) is None  # one-shot
    clock.advance(90)
    sim.tick()
    assert sim.take_fault(orkey) is not None  # repeats


@pytest.mark.slow
def test_importing_starts_nothing():
    import subprocess
    import sys

    code = ("import threading, traywidget.simulator as s; s.Simulator(); "
            "assert threading.active_count() == 1; import sys; assert 'aiohttp' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
def test_simulate_command_lists_every_prefix_it_serves():
    import os
    import shlex
    import subprocess
    from urllib.parse import urlsplit

    from tests.desktop_session import Lines, app_command, stop_process

    proc = subprocess.Popen(app_command("simulate", "--demo", "--port", "0"), stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines = Lines(proc.stdout)
        lines.wait_for("Press Ctrl+C", 20)
        urls = {line.split()[0]: line.split()[1] for line in lines.lines if line.startswith("  ")}
        assert list(urls) == ["routing.run", "openrouter", "routeway", "openai-compatible", "litellm", "deepseek",
                              "moonshot", "dialects"]
        with httpx.Client(timeout=5) as c:
            for url in urls.values():
                assert c.get(f"{url}/_echo").json()["path"] == urlsplit(url).path + "/_echo"
        # What a user pastes from the demo lines needs no quoting.
        demo = build_demo(Simulator())
        values = [v for a in demo for v in (a["id"], a["provider"], a["api_key"], a["management_key"]) if v]
        assert values and all(shlex.quote(v) == v for v in [*values, *urls.values()])
    finally:
        stop_process(proc)


def test_generated_keys_need_no_shell_quoting():
    import shlex

    sim = Simulator()
    keys = [sim.add_account(p, management=p in ("openrouter", "routeway")) for p in
            ("routing.run", "openrouter", "routeway", "openai-compatible")]
    values = [v for k in keys for v in (k["api_key"], k["management_key"]) if v]
    assert len(values) == 6 and all(shlex.quote(v) == v for v in values)
