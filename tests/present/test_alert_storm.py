"""Never a storm: an hour of a user hammering two per-minute windows, counted as the user would see it.

The real engine polls the real simulator (over loopback HTTP) on a simulated clock: every 20 s, the
engine's fastest cadence (a window near exhaustion), so the worst case for a storm. Between polls
the user's tool sends a request every 2 s to each of:
- a Routeway key on a `:free` model: 5 per minute, 200 per day;
- an OpenRouter key on a `:free` model: 20 per minute, 1000 per day (the account bought credits).
Every request the simulator refuses is a 429 that reaches the engine as the local gateway delivers
it (the account turns rate_limited with the provider's limit and Retry-After); every request that
goes through after one turns it back. Each snapshot goes through the alert policy, as the tray's, and
what passes it goes to a real command hook as well (the tray and the headless gateway send each alert
to the hooks right after the policy): the hook is called once per notification, never more.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from traywidget.desktop.hooks import HookRunner, command_hook
from traywidget.engine.engine import Engine
from traywidget.model import Account, ErrorInfo, Snapshot, State
from traywidget.present.alerts import (
    EXHAUSTED,
    RATE_LIMITED,
    RESTORED,
    THRESHOLD,
    Alert,
    AlertPolicy,
)
from traywidget.present.hook_events import hook_event
from traywidget.simulator import ManualClock, Simulator, SimulatorServer
from traywidget.store.secrets import MemorySecretStore

pytestmark = pytest.mark.slow

START = datetime(2025, 1, 6, 12, 0, 0, tzinfo=UTC)
HOUR_S = 3600
REQUEST_EVERY_S = 2
POLL_EVERY_S = 20
ROUTEWAY_FREE = "deepseek/deepseek-r1:free"
OPENROUTER_FREE = "meta-llama/llama-3.3-70b-instruct:free"


def test_an_hour_of_hammering_per_minute_windows_makes_a_handful_of_notifications(tmp_path):
    clock = ManualClock(START)
    sim = Simulator(clock)
    routeway_key = sim.add_routeway_key(label="rw", daily_limit=200, minute_limit=5, balance=4.2)
    routeway_mgmt = sim.add_management_key(routeway_key)
    openrouter_key = sim.add_openrouter_key(label="or", total_credits=20.0)
    with SimulatorServer(sim) as server:
        accounts = [Account("rw", "routeway", "Routeway", server.url("routeway")),
                    Account("or", "openrouter", "OpenRouter", server.url("openrouter"))]
        secrets = MemorySecretStore()
        secrets.set("rw", routeway_key)
        secrets.set("rw", routeway_mgmt, management=True)
        secrets.set("or", openrouter_key)
        keys = {"rw": (routeway_key, ROUTEWAY_FREE), "or": (openrouter_key, OPENROUTER_FREE)}
        received = tmp_path / "hook-events.jsonl"
        script = f"import sys; open({str(received)!r}, 'a').write(sys.stdin.read() + '\\n')"
        hook = command_hook(f"{sys.executable} -c {json.dumps(script)}")
        alerts, refused, polled = asyncio.run(_hammer(clock, sim, accounts, secrets, keys, hook))

    seen = Counter((a.account_id, a.kind) for a in alerts)
    titles = [a.title for a in alerts]
    # What the hour was: thousands of requests, most of them refused, 180 polls per account.
    assert refused == {"rw": 1600, "or": 800}, refused
    assert polled == 180
    # What the user saw: per account, the per-minute limit once, the daily window crossing 20 % and
    # 5 % left, and the daily window used up once (said by its first 429 or by a poll, not both).
    assert seen == Counter({
        ("rw", RATE_LIMITED): 1, ("rw", THRESHOLD): 2, ("rw", EXHAUSTED): 1,
        ("or", RATE_LIMITED): 1, ("or", THRESHOLD): 2, ("or", EXHAUSTED): 1,
    }), "\n".join(titles)
    assert len(alerts) == 8
    assert titles[:2] == ["Routeway: per-minute limit hit (429)", "OpenRouter: per-minute limit hit (429)"]
    assert "Routeway: 40 requests left today" in titles
    assert "OpenRouter: 200 free-model requests left today" in titles
    # never "requests go through again" after a passing per-minute 429
    assert not [a for a in alerts if a.kind == RESTORED]
    # The hook: one call per notification, with the notification's words (hooks run side by side, so
    # their order is not compared), and no key in any.
    text = received.read_text()
    events = [json.loads(line) for line in text.splitlines()]
    assert len(events) == len(alerts) == 8
    assert Counter((e["account"], e["event"]) for e in events) == Counter((a.account_id, a.kind) for a in alerts)
    assert sorted(e["message"] for e in events) == sorted(f"{a.title}. {a.body}" for a in alerts)
    for key, _ in keys.values():
        assert key not in text
    assert routeway_mgmt not in text


async def _hammer(clock, sim, accounts, secrets, keys, hook):
    policy = AlertPolicy()
    alerts: list[Alert] = []
    engine = Engine(accounts, secrets, now=clock, monotonic=lambda: (clock() - START).total_seconds())
    hooks = HookRunner(asyncio.get_running_loop(), secrets, [hook])

    def see(snapshot: Snapshot) -> None:
        passed = policy.update(snapshot, clock())
        alerts.extend(passed)
        hooks.send_all(hook_event(alert, snapshot, clock()) for alert in passed)

    engine.subscribe(see)
    refused = {account.id: 0 for account in accounts}
    limited = {account.id: False for account in accounts}
    polls = 0
    try:
        for second in range(0, HOUR_S, REQUEST_EVERY_S):
            clock.set(START + timedelta(seconds=second))
            if second % POLL_EVERY_S == 0:
                await engine.poll_all()
                polls += 1
            for account_id, (key, model) in keys.items():
                denial = sim.admit(key, model)
                base = engine.snapshots[account_id]
                if denial is not None:
                    refused[account_id] += 1
                    limited[account_id] = True
                    see(_refused(base, denial, clock()))
                elif limited[account_id]:
                    limited[account_id] = False
                    see(base.with_changes(fetched_at=clock()))
    finally:
        await engine.stop()
        await hooks.drain()
    return alerts, refused, polls


def _refused(base: Snapshot, denial, now: datetime) -> Snapshot:
    """The account as the engine publishes it after a 429 through the gateway: rate limited, with the
    provider's limit and Retry-After, the last known meters beside it."""
    kind = "minute" if denial.kind == "minute" else "daily"
    retry = max(1.0, (denial.reset_at - now).total_seconds()) if denial.reset_at else None
    return base.with_changes(state=State.RATE_LIMITED, fetched_at=now, error=ErrorInfo(
        message=f"Rate limit exceeded: {kind} limit", http_status=429, code="rate_limit_exceeded",
        retry_after_s=retry, limit_kind=kind))
