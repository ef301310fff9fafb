"""Alert hooks: real commands (subprocesses, no shell) and real HTTP POSTs to a loopback server.

What a hook receives (the documented event JSON, exactly), the bearer credential from the secret
store, the bounded retry, https-or-loopback, and that a failing or hanging hook never delays the
caller and is logged once."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from traywidget.desktop import hooks as hooks_module
from traywidget.desktop.hooks import HookRunner, command_hook, hook_secret_name, hook_url_name, url_hook
from traywidget.model import REQUESTS_DAY, InvalidValue, Meter, Snapshot, State, Unit
from traywidget.present.alerts import THRESHOLD, Alert
from traywidget.present.hook_events import hook_event, sample_event
from traywidget.store.secrets import MemorySecretStore

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
CANARY_KEY = "sk-or-v1-" + "c11ca4a7" * 8


class Receiver:
    """A loopback HTTP endpoint that records what it is sent and answers as told."""

    def __init__(self, answers: list[int] | None = None, hang: bool = False) -> None:
        self.received: list[tuple[dict, dict]] = []
        self.answers = list(answers or [])
        self.hang = hang
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._post)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/hook/T0123/secretpath"
        return self

    async def __aexit__(self, *exc) -> None:
        assert self.runner is not None
        await self.runner.cleanup()

    async def _post(self, request: web.Request) -> web.Response:
        self.received.append((json.loads(await request.read()), dict(request.headers)))
        if self.hang:
            await asyncio.sleep(3600)
        return web.Response(status=self.answers.pop(0) if self.answers else 200)


def _snapshot() -> Snapshot:
    meter = Meter(REQUESTS_DAY, Unit.REQUESTS, used=160, limit=200, remaining=40,
                  resets_at=datetime(2026, 12, 8, tzinfo=UTC))
    return Snapshot("team", "openrouter", "Team", State.LOW, meters=(meter,), fetched_at=NOW)


def test_the_event_json_has_the_documented_fields_and_figures():
    alert = Alert(THRESHOLD, "team", "Team: 40 requests left today", "40 of 200 left (20 %).", REQUESTS_DAY)
    assert hook_event(alert, _snapshot(), NOW) == {
        "event": "threshold", "account": "team", "provider": "openrouter", "window": "requests_day",
        "remaining": 40, "limit": 200, "resets_at": "2026-12-08T00:00:00Z", "severity": "low",
        "message": "Team: 40 requests left today. 40 of 200 left (20 %).", "at": "2026-12-07T12:00:00Z"}
    assert set(sample_event(NOW)) == set(hook_event(alert, _snapshot(), NOW))


def test_a_url_is_https_or_loopback_and_only_its_origin_is_kept_in_the_config():
    hook, url = url_hook("https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX")
    assert hook.url == "https://hooks.slack.com/…" and url.endswith("/XXXXXXXXXXXXXXXXXXXXXXXX")
    assert "XXXX" not in json.dumps(hook.to_json())
    assert url_hook("http://127.0.0.1:9000/hook")[0].url == "http://127.0.0.1:9000/…"
    with pytest.raises(InvalidValue, match="Plain http is refused for example.com"):
        url_hook("http://example.com/hook")
    with pytest.raises(InvalidValue, match="user name or password"):
        url_hook("https://me:pw@example.com/hook")
    with pytest.raises(InvalidValue, match="Not a web address"):
        url_hook("ftp://example.com/x")


def test_a_command_is_split_without_a_shell_and_never_holds_a_key():
    assert command_hook("notify-send 'traywidget alert'").command == ("notify-send", "traywidget alert")
    with pytest.raises(InvalidValue, match="looks like a key"):
        command_hook(f"curl -H 'Authorization: Bearer {CANARY_KEY}' https://x")
    with pytest.raises(InvalidValue, match="empty"):
        command_hook("   ")


def _recording_command(tmp_path: Path, name: str = "events.jsonl", exit_code: int = 0) -> tuple[str, Path]:
    out = tmp_path / name
    script = (f"import sys; data = sys.stdin.read(); open({str(out)!r}, 'a').write(data + '\\n'); "
              f"sys.exit({exit_code})")
    return f"{sys.executable} -c {json.dumps(script)}", out


@pytest.mark.slow
async def test_a_command_gets_the_event_on_stdin_without_a_shell(tmp_path):
    command, out = _recording_command(tmp_path)
    literal = tmp_path / "never-made"
    hook = command_hook(command + f" ';' touch {literal}")  # a shell would run `touch`
    runner = HookRunner(asyncio.get_running_loop(), MemorySecretStore(), [hook])
    runner.send(sample_event(NOW))
    await runner.drain()
    assert [json.loads(line) for line in out.read_text().splitlines()] == [sample_event(NOW)]
    assert not literal.exists()


@pytest.mark.slow
async def test_a_url_gets_the_json_with_the_bearer_from_the_keyring_and_retries_a_bounded_number(monkeypatch):
    monkeypatch.setattr(hooks_module, "RETRY_PAUSE_S", 0.01)
    store = MemorySecretStore()
    async with Receiver(answers=[503, 503, 503, 503]) as failing, Receiver(answers=[502]) as flaky, \
            Receiver(answers=[400]) as refusing:
        hooks = []
        for receiver, bearer in ((failing, None), (flaky, "hook-bearer-1"), (refusing, None)):
            hook, url = url_hook(receiver.url, bearer=bearer is not None)
            store.set_secret(hook_url_name(hook.id), url)
            if bearer:
                store.set_secret(hook_secret_name(hook.id), bearer)
            hooks.append(hook)
        runner = HookRunner(asyncio.get_running_loop(), store, hooks)
        results = [await runner.deliver(hook, sample_event(NOW)) for hook in hooks]
        await runner.close()
    assert [(r.ok, r.problem) for r in results] == [(False, "HTTP 503"), (True, None), (False, "HTTP 400")]
    assert len(failing.received) == hooks_module.URL_TRIES == 3  # bounded: never a fourth
    assert len(flaky.received) == 2 and len(refusing.received) == 1  # a 4xx is not asked again
    body, headers = flaky.received[-1]
    assert body == sample_event(NOW)
    assert headers["Authorization"] == "Bearer hook-bearer-1" and headers["Content-Type"] == "application/json"
    assert "Authorization" not in failing.received[0][1]


@pytest.mark.slow
async def test_a_hanging_or_failing_hook_never_delays_the_caller_and_is_logged_once(tmp_path, monkeypatch, caplog):
    hang_s = 3.0
    monkeypatch.setattr(hooks_module, "COMMAND_TIMEOUT_S", hang_s)
    monkeypatch.setattr(hooks_module, "URL_TIMEOUT_S", hang_s)
    monkeypatch.setattr(hooks_module, "URL_TRIES", 1)
    caplog.set_level(logging.WARNING, logger="traywidget.desktop.hooks")
    store = MemorySecretStore()
    fast, fast_out = _recording_command(tmp_path, "fast.jsonl")
    failing, _ = _recording_command(tmp_path, "failing.jsonl", exit_code=3)
    hanging = command_hook(f"{sys.executable} -c 'import time; time.sleep(3600)'")
    async with Receiver(hang=True) as black_hole:
        url_hanging, url = url_hook(black_hole.url)
        store.set_secret(hook_url_name(url_hanging.id), url)
        runner = HookRunner(asyncio.get_running_loop(), store,
                            [hanging, url_hanging, command_hook(failing), command_hook(fast)])
        started = time.monotonic()
        for n in range(3):
            runner.send({**sample_event(NOW), "remaining": n})
        assert time.monotonic() - started < 0.05  # handed over, nothing awaited
        # The loop (the engine's, in the app) stays free while hooks hang: it ticks all along, never held
        # for anything near a hang (on a busy machine a tick may still come late: the bound is a third).
        ticks, late = 0, 0.0
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            late = max(late, time.monotonic() - before)
            ticks += 1
        assert late < hang_s / 3 and ticks >= 10
        await asyncio.wait_for(runner.drain(), 20)
        await runner.close()
    # The fast hook got every event although the others hung (at most MAX_RUNNING at once).
    assert [json.loads(line)["remaining"] for line in fast_out.read_text().splitlines()] == [0, 1, 2]
    warnings = [r.getMessage() for r in caplog.records]
    assert len([w for w in warnings if "time.sleep(3600)" in w]) == 1, warnings
    assert len([w for w in warnings if "http://127.0.0.1" in w]) == 1, warnings
    assert len([w for w in warnings if "exit status 3" in w]) == 1, warnings
    assert not [w for w in warnings if "secretpath" in w]  # the URL's secret path is never logged


@pytest.mark.slow
async def test_nothing_is_sent_from_a_process_that_does_not_decide(tmp_path):
    command, out = _recording_command(tmp_path)
    runner = HookRunner(asyncio.get_running_loop(), MemorySecretStore(), [command_hook(command)],
                        may_send=lambda: False)
    runner.send(sample_event(NOW))
    await runner.drain()
    assert not out.exists()


def test_hooks_and_the_metrics_switch_round_trip_through_the_config_file(tmp_path):
    from traywidget.store.config import Config, ConfigStore, Settings

    url, _ = url_hook("https://ntfy.sh/team-topic", bearer=True)
    command = command_hook("notify-send traywidget")
    store = ConfigStore(tmp_path)
    store.save(Config(settings=Settings(hooks=(url, command), metrics_enabled=True)))
    assert store.load().settings.hooks == (url, command)
    assert store.load().settings.metrics_enabled is True
    assert Settings.from_json({}).metrics_enabled is False and Settings.from_json({}).hooks == ()
    # An entry this version cannot read (a newer kind of hook, a hand edit gone wrong) is kept as it
    # was and written back, never run; one that is not even an object is left out. Never a crash.
    newer = {"id": "n1", "mqtt": "mqtts://broker/topic", "qos": 1}
    odd = Settings.from_json({"hooks": [newer, "nope", {"id": "y", "command": []}, url.to_json()],
                              "metrics_enabled": "yes"})
    assert odd.metrics_enabled is False
    assert [hook.runnable for hook in odd.hooks] == [False, False, True]
    assert [hook.to_json() for hook in odd.hooks] == [newer, {"id": "y", "command": []}, url.to_json()]
    store.save(Config(settings=odd))
    assert json.loads((tmp_path / "config.json").read_text())["settings"]["hooks"][0] == newer
    loop = asyncio.new_event_loop()
    try:
        assert HookRunner(loop, MemorySecretStore(), odd.hooks).hooks == (url,)
    finally:
        loop.close()
