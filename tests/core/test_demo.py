"""The demo: real simulator accounts of all three providers, keys in memory only."""

from __future__ import annotations

import time

from traywidget.demo import demo_history_rows, start_demo
from traywidget.model import Meter, Snapshot, State, Unit


def test_demo_accounts_cover_all_providers_and_never_touch_the_keyring(tmp_path):
    with start_demo() as demo:
        assert {a.provider for a in demo.accounts} == {"routing.run", "openrouter", "routeway", "openai-compatible"}
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
