from __future__ import annotations

from datetime import timedelta

from tests.ui.conftest import NOW, make_snapshot
from traywidget.model import ErrorInfo, State
from traywidget.ui import text as T
from traywidget.ui.panel import PanelWindow


def test_cards_after_snapshots(qtbot):
    calls = []

    def history(account_id, meter, since):
        calls.append((account_id, meter))
        return [(since + 3600 * i, 500 - 20 * i) for i in range(24)]

    clock = [NOW + timedelta(seconds=12)]
    panel = PanelWindow(history_source=history, clock=lambda: clock[0], wall_time=lambda: NOW.timestamp())
    qtbot.addWidget(panel)
    panel.set_accounts(["main", "or"])
    panel.update_snapshot(make_snapshot("main", label="Main", hour=(420, 500), day=(1000, 1500)))
    panel.update_snapshot(make_snapshot("or", label="Router", provider="openrouter", plan=None, hour=None,
                                        credits=(4.2, 10.0), state=State.AUTH_ERROR,
                                        error=ErrorInfo("Invalid API key", 401)))
    texts = panel.texts()
    assert "Main" in texts and "Router" in texts
    assert "420 / 500" in texts and "Resets in 23 min" in texts and "84% left" in texts
    assert "$4.20 / $10.00" in texts
    assert "Last error: Invalid API key (401)" in texts
    assert any("fetched 12 s ago" in t for t in texts)
    card = panel.cards["main"]
    assert card.rows[0].bar.level == T.OK
    # sparklines load when shown, not before
    assert calls == []
    panel.show()
    qtbot.waitExposed(panel)
    assert ("main", "requests_day") in calls  # the binding window (67 % < 84 %)
    assert len(card.sparkline.points) == 24
    assert panel.timer.isActive()
    # the countdown ticks while visible
    clock[0] = NOW + timedelta(minutes=10)
    panel.tick()
    assert "Resets in 13 min" in panel.texts()
    panel.hide()
    assert not panel.timer.isActive()


def test_stale_dims_bars_and_says_so(qtbot):
    panel = PanelWindow(clock=lambda: NOW)
    qtbot.addWidget(panel)
    panel.update_snapshot(make_snapshot("main", hour=(10, 500), stale=True))
    assert panel.cards["main"].rows[0].bar.level == T.STALE
    assert any("stale" in t for t in panel.texts())


def test_removed_accounts_and_status(qtbot):
    panel = PanelWindow(clock=lambda: NOW)
    qtbot.addWidget(panel)
    panel.update_snapshot(make_snapshot("a"))
    panel.update_snapshot(make_snapshot("b"))
    panel.set_accounts(["b"])
    assert set(panel.cards) == {"b"}
    panel.set_status("No system tray")
    assert panel.status.text() == "No system tray" and not panel.status.isHidden()


def test_buttons_emit(qtbot):
    panel = PanelWindow(clock=lambda: NOW)
    qtbot.addWidget(panel)
    for button, signal in [(panel.refresh_button, panel.refresh_requested),
                           (panel.kill_button, panel.kill_requested),
                           (panel.settings_button, panel.settings_requested)]:
        with qtbot.waitSignal(signal, timeout=1000):
            button.click()
