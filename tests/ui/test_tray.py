"""The tray menu and icon, driven by snapshots; actions triggered through contextMenu()."""

from __future__ import annotations

from tests.ui.conftest import NOW, make_snapshot
from traywidget.core.config import Config, Settings
from traywidget.model import Account, ErrorInfo, State
from traywidget.ui import text as T
from tests.ui.conftest import make_controller
from traywidget.ui.tray import SnapshotBus, TrayView


def action(tray, text):
    for a in tray.contextMenu().actions():
        if a.text() == text:
            return a
    raise AssertionError(f"no action {text!r} in {[a.text() for a in tray.contextMenu().actions()]}")


def texts(tray):
    return [a.text() for a in tray.contextMenu().actions()]


def test_signals_from_menu(qtbot):
    tray = TrayView(clock=lambda: NOW)
    for text, signal in [
        ("Refresh now", tray.refresh_requested),
        ("Kill all streams", tray.kill_requested),
        ("Settings…", tray.settings_requested),
        ("Quit Traywidget", tray.quit_requested),
        ("Show usage…", tray.panel_requested),
    ]:
        with qtbot.waitSignal(signal, timeout=1000):
            action(tray, text).trigger()
    with qtbot.waitSignal(tray.pause_toggled, timeout=1000) as blocker:
        action(tray, "Pause polling").trigger()
    assert blocker.args == [True]
    assert action(tray, "Pause polling").isChecked()


def test_menu_sections_from_snapshots(qtbot):
    bus = SnapshotBus()
    tray = TrayView(clock=lambda: NOW)
    bus.snapshot.connect(tray.update_snapshot)
    bus.publish(make_snapshot("main", label="Main", hour=(420, 500)))
    bus.publish(make_snapshot("or", label="OpenRouter key", provider="openrouter", plan=None, hour=None,
                              credits=(4.2, 10.0), state=State.RATE_LIMITED,
                              error=ErrorInfo("Rate limit exceeded", 429)))
    lines = texts(tray)
    assert lines[0] == "Main · routing.run Premium — OK"
    assert "    Requests this hour: 420 / 500 · resets in 23 min" in lines
    assert "    Credits left on key: $4.20 / $10.00" in lines
    assert "    Last error: Rate limit exceeded (429)" in lines
    assert any(line.startswith("Updated") for line in lines)
    # rebuilt on aboutToShow as well
    tray.contextMenu().aboutToShow.emit()
    assert texts(tray) == lines


def test_tooltip_lists_every_account(qtbot):
    tray = TrayView(clock=lambda: NOW)
    tray.update_snapshot(make_snapshot("a", label="A", hour=(420, 500)))
    tray.update_snapshot(make_snapshot("b", label="B", hour=(7, 500)))
    qtbot.waitUntil(lambda: "7 / 500" in tray.primary_icon().toolTip(), timeout=2000)
    tip = tray.primary_icon().toolTip()
    assert "A" in tip and "B" in tip and "resets in 23 min" in tip and "7 / 500" in tip


def test_badge_follows_binding_meter_and_pin(qtbot):
    tray = TrayView(clock=lambda: NOW)
    tray.update_snapshot(make_snapshot("a", hour=(420, 500)))
    tray.update_snapshot(make_snapshot("b", hour=(50, 500)))
    assert tray.badge().text == "50" and tray.badge().level == T.LOW
    tray.set_options(pinned="a/requests_hour")
    assert tray.badge().text == "420" and tray.badge().level == T.OK
    # cached data shows at once, grey
    tray.update_snapshot(make_snapshot("a", hour=(420, 500), stale=True))
    assert tray.badge().level == T.STALE
    assert not tray.icon_image_for_tests().isNull()


def test_icon_per_account(qtbot):
    tray = TrayView(clock=lambda: NOW, icon_per_account=True)
    tray.set_accounts(["a", "b"])
    tray.update_snapshot(make_snapshot("a", hour=(420, 500)))
    tray.update_snapshot(make_snapshot("b", hour=(3, 500)))
    assert set(tray.icons) == {"a", "b"}
    assert tray.badge("a").text == "420" and tray.badge("b").text == "3"
    tray.set_options(icon_per_account=False)
    assert set(tray.icons) == {None}


def test_controller_wires_menu_to_engine(qtbot, engine, runner):
    shown = []
    config = Config(accounts=(Account("main", "routing.run", "Main", "https://api.routing.run/v1"),
                              Account("or", "openrouter", "OpenRouter", "https://openrouter.ai/api/v1")))
    quits = []
    c = make_controller(engine, config=config, runner=runner, clock=lambda: NOW, on_quit=lambda: quits.append(1))
    c.notifier._available = lambda: True
    c.tray.primary_icon().showMessage = lambda *a: shown.append(a)  # type: ignore[method-assign]
    engine.publish(make_snapshot("main", hour=(420, 500)))

    action(c.tray, "Refresh now").trigger()
    assert engine.calls[-1] == "refresh_now"
    action(c.tray, "Kill all streams").trigger()
    assert engine.calls[-1] == "kill_all"
    assert len(shown) == 1
    title, body = shown[0][0], shown[0][1]
    assert title == "Stopped 3 streams on 1 account"
    assert "OpenRouter" in body and "Cannot stop" in body
    action(c.tray, "Pause polling").trigger()
    assert engine.calls[-1] == "pause" and c.tray.badge().level == T.STALE
    action(c.tray, "Pause polling").trigger()
    assert engine.calls[-1] == "resume"
    action(c.tray, "Quit Traywidget").trigger()
    assert quits == [1]
    action(c.tray, "Show usage…").trigger()
    assert c.panel.isVisible()
    c.panel.close()


def test_seed_shows_cached_snapshots_stale(qtbot, engine, runner):
    config = Config(accounts=(Account("main", "routing.run", "Main", "https://api.routing.run/v1"),))
    c = make_controller(engine, config=config, runner=runner, clock=lambda: NOW)
    c.seed([make_snapshot("main", hour=(420, 500))])
    assert c.tray.badge().level == T.STALE and c.tray.badge().text == "420"
    assert "stale" in texts(c.tray)[0]


def test_alerts_notify_once_per_alert(qtbot, engine, runner):
    config = Config(accounts=(Account("main", "routing.run", "Main", "https://api.routing.run/v1"),),
                    settings=Settings())
    c = make_controller(engine, config=config, runner=runner, clock=lambda: NOW)
    shown = []
    c.notifier._available = lambda: True
    c.tray.primary_icon().showMessage = lambda *a: shown.append(a)  # type: ignore[method-assign]
    for remaining in (400, 90, 80, 20, 10):  # crosses 20 % then 5 %
        engine.publish(make_snapshot("main", hour=(remaining, 500)))
    for _ in range(5):  # a 429 episode
        engine.publish(make_snapshot("main", hour=(10, 500), state=State.RATE_LIMITED,
                                     error=ErrorInfo("Too many requests", 429, limit_kind="hourly")))
    titles = [a[0] for a in shown]
    assert len(titles) == 3, titles
    assert "20%" in titles[0] and "5%" in titles[1] and "429" in titles[2]


def test_a_burst_of_snapshots_redraws_once(qtbot):
    """A 100-account refresh must not rebuild the badge, tooltip and menu 100 times."""
    tray = TrayView(clock=lambda: NOW)
    redraws = []
    tray._coalesce.timeout.connect(lambda: redraws.append(1))
    for i in range(100):
        tray.update_snapshot(make_snapshot(f"acc{i}", label=f"A{i}", hour=(400 - i, 500)))
    assert "A99" not in tray.primary_icon().toolTip()  # not yet: coalesced
    qtbot.waitUntil(lambda: "A99" in tray.primary_icon().toolTip(), timeout=2000)
    qtbot.wait(150)
    assert redraws == [1]


def test_applied_settings_reach_the_engine_and_the_cache_keeps_unpolled_accounts(qtbot, engine, runner, tmp_path):
    from traywidget.core.cache import SnapshotCache
    from traywidget.model import Thresholds

    accounts = (Account("main", "routing.run", "Main", "https://api.routing.run/v1"),
                Account("idle", "routing.run", "Idle", "https://api.routing.run/v1"))
    controller = make_controller(engine, config=Config(accounts=accounts), runner=runner)
    controller.cache = SnapshotCache(tmp_path)
    controller.apply_config(Config(accounts=accounts, settings=Settings(
        thresholds=Thresholds((0.3, 0.1)), fast_interval_s=90.0, full_interval_s=600.0)))
    assert engine.settings.thresholds == Thresholds((0.3, 0.1))
    assert (engine.settings.cadence.fast_s, engine.settings.cadence.full_s) == (90.0, 600.0)
    assert runner.spawned == ["refresh"]  # the new settings take effect at once
    # "idle" is only known from the cache (stale); a save after polling "main" must keep it.
    controller.seed([make_snapshot("idle", label="Idle", hour=(7, 500))])
    engine.publish(make_snapshot("main", label="Main", hour=(420, 500)))
    controller.save_cache()
    saved = {s.account_id: s for s in SnapshotCache(tmp_path).load()}
    assert set(saved) == {"main", "idle"}
    assert saved["idle"].meter("requests_hour").remaining == 7
