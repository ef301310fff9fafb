"""The demo: real simulator accounts of all three providers, keys in memory only."""

from __future__ import annotations

import time

from traywidget.demo import demo_history_rows, start_demo
from traywidget.model import Meter, Snapshot, State, Unit


def test_demo_accounts_cover_all_providers_and_never_touch_the_keyring(tmp_path):
    with start_demo() as demo:
        assert {a.provider for a in demo.accounts} == {"routing.run", "openrouter", "routeway", "litellm", "deepseek",
                                                       "moonshot", "openai-compatible"}
        for account in demo.accounts:
            assert account.base_url.startswith("http://127.0.0.1:")
            assert demo.secrets.get(account.id)
        # A stream is already running for "Kill all streams" to stop.
        assert len(demo.server.sim.active_streams()) == 1
    assert not (tmp_path / "config").exists()


def test_demo_history_is_a_plausible_day():
    snap = Snapshot("a", "routing.run", "A", State.OK, meters=(
        Meter("requests_hour", Unit.REQUESTS, used=80, limit=500, remaining=420),
        Meter("requests_minute", Unit.REQUESTS, used=1, limit=100, remaining=99, approximate_reset=True),
        Meter("balance", Unit.USD, remaining=4.2),
    ))
    now = time.time()
    rows = demo_history_rows(snap, now)
    assert len(rows) == 288  # one capped, non-rolling meter x 24 h / 5 min
    assert {r[1] for r in rows} == {"requests_hour"}
    assert all(now - 86400 <= r[2] < now and 0 <= r[3] <= 500 and r[4] == 500 for r in rows)


def test_a_running_demo_is_reached_only_while_it_answers(tmp_path, monkeypatch):
    """The announcement names this process's demo; once its simulator stops (or the pid is another program's),
    --demo commands start a world of their own again."""
    from traywidget.demo import DEMO_FILE, announce_demo, running_demo, withdraw_demo

    monkeypatch.setenv("TRAYWIDGET_CACHE_DIR", str(tmp_path))
    assert running_demo() is None
    with start_demo() as demo:
        announce_demo(demo.accounts, 4321)
        reached = running_demo()
        assert reached is not None and reached.server is None and reached.gateway_port == 4321
        assert [a.id for a in reached.accounts] == [a.id for a in demo.accounts]
        assert all(reached.secrets.get(a.id) == demo.secrets.get(a.id) for a in demo.accounts)
        assert "rk_" not in (tmp_path / DEMO_FILE).read_text()  # never a key in the file
    assert running_demo() is None  # the simulator is gone: nothing answers there
    withdraw_demo()
    assert not (tmp_path / DEMO_FILE).exists()
