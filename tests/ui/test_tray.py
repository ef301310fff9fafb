"""The tray menu and icon, driven by snapshots; actions triggered through contextMenu()."""

from __future__ import annotations

from tests.ui.conftest import NOW, make_controller, make_snapshot
from traywidget.model import Account, ErrorInfo, State
from traywidget.store.config import Config, Settings
from traywidget.ui.badge import (
    ACCOUNT_BANDS,
    ELSEWHERE,
    FINE,
    LOW,
    MARK_ALERT,
    NO_ACCOUNTS,
    NONE,
    STALE,
    BadgeSpec,
)
from traywidget.ui.bus import SnapshotBus
from traywidget.ui.tray import TrayView, icons_dock_newest_first


def action(tray, text):
    for a in tray.contextMenu().actions():
        if a.text() == text:
            return a
    raise AssertionError(f"no action {text!r} in {[a.text() for a in tray.contextMenu().actions()]}")


def texts(tray):
    return [a.text() for a in tray.contextMenu().actions()]


def submenu_texts(tray, account_id):
    for a in tray.contextMenu().actions():
        if a.menu() is not None and a.data() == ("account", account_id):
            return [line.text() for line in a.menu().actions()]
    raise AssertionError(f"no submenu for {account_id}")


def icon_image(tray, key=None, size=32):
    tray.badge(key)  # applies a pending redraw
    return tray.icons[key].icon().pixmap(size, size).toImage()


def test_signals_from_menu(qtbot):
    tray = TrayView(clock=lambda: NOW)
    tray.set_accounts(["main"])
    tray.update_snapshot(make_snapshot("main"))
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
    with qtbot.waitSignal(tray.panel_requested, timeout=1000):
        next(a for a in tray.contextMenu().actions() if a.menu()).menu().actions()[0].trigger()


def test_with_no_accounts_the_menu_offers_to_add_one_and_nothing_without_an_object(qtbot):
    tray = TrayView(clock=lambda: NOW)
    tray.set_accounts([])
    assert texts(tray) == ["Add an account…", "", "Settings…", "Quit Traywidget"]
    assert action(tray, "Add an account…").isEnabled()
    with qtbot.waitSignal(tray.add_account_requested, timeout=1000):
        action(tray, "Add an account…").trigger()
    assert tray.badge() == NO_ACCOUNTS
    assert tray.primary_icon().toolTip() == "Traywidget: no accounts yet. Right-click the icon to add one."


def test_menu_is_short_kill_near_the_top_one_line_per_account(qtbot, utc_local_time):
    bus = SnapshotBus()
    tray = TrayView(clock=lambda: NOW)
    bus.snapshot.connect(tray.update_snapshot)
    tray.set_accounts(["main", "or"])
    bus.publish(make_snapshot("main", label="Main", hour=(420, 500)).with_changes(streams=2))
    bus.publish(make_snapshot("or", label="OpenRouter key", provider="openrouter", plan=None, hour=None,
                              credits=(4.2, 10.0), state=State.RATE_LIMITED,
                              error=ErrorInfo("Rate limit exceeded", 429)))
    assert texts(tray) == [
        "Show usage…",
        "",
        "Kill all streams",
        "",
        "Main — 420 requests left this hour · OK · 2 streams running",
        "OpenRouter key — $4.20 left on the key · Rate limited (429), seen 12:00: Rate limit exceeded",
        "",
        "Refresh now",
        "Pause polling",
        "",
        "Settings…",
        "Quit Traywidget",
    ]
    assert submenu_texts(tray, "main") == [
        "routing.run · Premium",
        "Requests this hour: 420 of 500 left · resets 12:23",
        "2 streams running",
        "fetched just now",
    ]
    assert submenu_texts(tray, "or") == [
        "OpenRouter",
        "Credits left on the key: $4.20 of $10.00 left",
        "Last error: Rate limit exceeded (429)",
        "fetched just now",
    ]
    # every figure of a menu line is in the tooltip too (some hosts never refresh a menu's text)
    tip = tray.primary_icon().toolTip()
    assert "420 requests left this hour" in tip and "$4.20 left on the key" in tip and "2 streams running" in tip
    # rebuilt on aboutToShow as well
    before = texts(tray)
    tray.contextMenu().aboutToShow.emit()
    assert texts(tray) == before


def test_tooltip_names_what_the_badge_counts(qtbot, utc_local_time):
    tray = TrayView(clock=lambda: NOW)
    tray.set_accounts(["a", "b"])
    tray.update_snapshot(make_snapshot("a", label="A", hour=(420, 500)))
    tray.update_snapshot(make_snapshot("b", label="B", hour=(7, 500), state=State.LOW))
    qtbot.waitUntil(lambda: "B" in tray.primary_icon().toolTip(), timeout=2000)
    assert tray.primary_icon().toolTip() == "\n".join([
        "Badge: B (routing.run) — 7 requests left this hour, resets 12:23 · Running low this hour",
        "A (routing.run): 420 requests left this hour · OK",
    ])
    tray.set_paused(True)
    assert tray.primary_icon().toolTip().splitlines()[0].endswith(" · Running low this hour · polling paused")


def test_badge_follows_the_headline_and_the_pin(qtbot):
    tray = TrayView(clock=lambda: NOW)
    tray.update_snapshot(make_snapshot("a", hour=(420, 500)))
    tray.update_snapshot(make_snapshot("b", hour=(50, 500)))
    assert tray.badge() == BadgeSpec("50", LOW, cue="h")
    tray.set_options(pinned="a/requests_hour")
    assert tray.badge() == BadgeSpec("420", FINE, cue="h")
    # cached data shows at once, grey
    tray.update_snapshot(make_snapshot("a", hour=(420, 500), stale=True))
    assert tray.badge().level == STALE
    assert not icon_image(tray).isNull()


def test_the_badge_does_not_flip_between_accounts_on_every_poll(qtbot):
    tray = TrayView(clock=lambda: NOW)
    tray.set_accounts(["a", "b"])
    shown = []
    for i in range(10):
        tray.update_snapshot(make_snapshot("a", label="A", hour=(124 if i % 2 == 0 else 126, 500)))
        tray.update_snapshot(make_snapshot("b", label="B", hour=(126 if i % 2 == 0 else 124, 500)))
        shown.append(tray.badge().text)
    assert shown == ["124", "126"] * 5  # always a's figure, though b has less left every other poll
    assert tray.primary_icon().toolTip().startswith("Badge: A (routing.run)")


def test_trouble_elsewhere_marks_the_icon(qtbot):
    tray = TrayView(clock=lambda: NOW)
    tray.set_accounts(["a", "b"])
    tray.update_snapshot(make_snapshot("a", hour=(420, 500)))
    tray.update_snapshot(make_snapshot("b", hour=None, state=State.AUTH_ERROR, error=ErrorInfo("Invalid API key", 401)))
    spec = tray.badge()
    assert (spec.text, spec.level, spec.mark) == ("420", ELSEWHERE, MARK_ALERT)


def test_one_icon_per_account_in_the_accounts_order(qtbot):
    tray = TrayView(clock=lambda: NOW, icon_per_account=True)
    tray.set_accounts(["a", "b"])
    tray.update_snapshot(make_snapshot("a", label="A", hour=(420, 500)))
    tray.update_snapshot(make_snapshot("b", label="B", provider="openrouter", plan=None, hour=None,
                                       credits=(3.0, 10.0)))
    # Made in the order the host shows them in the accounts' order (icons_dock_newest_first).
    made = (lambda ids: ids[::-1]) if icons_dock_newest_first() else (lambda ids: ids)
    assert list(tray.icons) == made(["a", "b"]) and tray.primary_icon() is tray.icons["a"]
    # Each account its own colour, by its place in the order.
    assert tray.badge("a") == BadgeSpec("420", FINE, cue="h", band=ACCOUNT_BANDS[0])
    assert tray.badge("b") == BadgeSpec("$3", FINE, band=ACCOUNT_BANDS[1])
    assert tray.icons["b"].toolTip().startswith("Badge: B (OpenRouter) — $3.00 left on the key")
    first_a = tray.icons["a"]
    # a new account in front: every icon made after it is made again, so the tray shows them in order (where
    # the newest docks first, the new one is made last and the others stay)
    tray.set_accounts(["c", "a", "b"])
    assert list(tray.icons) == made(["c", "a", "b"])
    assert (tray.icons["a"] is first_a) == icons_dock_newest_first()
    assert tray.badge("c") == BadgeSpec("…", NONE)
    assert tray.badge("a").band == ACCOUNT_BANDS[1]
    # The menu shows each account's colour beside its name, so a person knows which icon is which.
    tray._on_about_to_show()
    swatch = next(a for a in tray.contextMenu().actions() if a.data() == ("account", "b")).icon()
    assert swatch.pixmap(16, 16).toImage().pixelColor(8, 8).name() == ACCOUNT_BANDS[2]
    tray.set_options(icon_per_account=False)
    assert list(tray.icons) == [None]
    tray._on_about_to_show()
    assert next(a for a in tray.contextMenu().actions() if a.data() == ("account", "b")).icon().isNull()


def test_a_click_on_the_icon_opens_the_panel_and_the_next_click_closes_it(qtbot, engine, bridge):
    from PySide6.QtWidgets import QSystemTrayIcon

    config = Config(accounts=(Account("main", "routing.run", "Main", "https://api.routing.run/v1"),))
    c = make_controller(engine, config=config, bridge=bridge, clock=lambda: NOW)
    icon = c.tray.primary_icon()
    Reason = QSystemTrayIcon.ActivationReason
    icon.activated.emit(Reason.Trigger)
    assert c.panel.isVisible()
    icon.activated.emit(Reason.DoubleClick)  # the second half of a double click: no second toggle
    assert c.panel.isVisible()
    icon.activated.emit(Reason.Trigger)
    assert not c.panel.isVisible()
    action(c.tray, "Show usage…").trigger()  # the menu item only ever opens
    action(c.tray, "Show usage…").trigger()
    assert c.panel.isVisible()
    c.panel.close()


def test_controller_wires_menu_to_engine(qtbot, engine, bridge):
    config = Config(accounts=(Account("main", "routing.run", "Main", "https://api.routing.run/v1"),
                              Account("or", "openrouter", "OpenRouter", "https://openrouter.ai/api/v1")))
    quits = []
    c = make_controller(engine, config=config, bridge=bridge, clock=lambda: NOW, on_quit=lambda: quits.append(1))
    shown = []
    c.notifier.shown.connect(shown.append)
    engine.publish(make_snapshot("main", hour=(420, 500)))

    action(c.tray, "Refresh now").trigger()
    assert engine.calls[-1] == "refresh_now"
    action(c.tray, "Kill all streams").trigger()
    assert engine.calls[-1] == "kill_all"
    assert [(a.title, a.body) for a in shown] == [(
        "Stopped 3 streams on Main",
        "Streams your tools opened directly to OpenRouter cannot be stopped from here.")]
    action(c.tray, "Pause polling").trigger()
    assert engine.calls[-1] == "pause" and c.tray.badge().level == STALE
    action(c.tray, "Pause polling").trigger()
    assert engine.calls[-1] == "resume"
    action(c.tray, "Quit Traywidget").trigger()
    assert quits == [1]
    action(c.tray, "Show usage…").trigger()
    assert c.panel.isVisible()
    c.panel.close()


def test_a_failing_kill_is_said(qtbot, engine, bridge):
    engine.kill_results = RuntimeError("engine stopped")
    c = make_controller(engine, config=Config(accounts=(Account("main", "routing.run", "Main", "https://x/v1"),)),
                        bridge=bridge)
    shown = []
    c.notifier.shown.connect(shown.append)
    c.kill_all()
    assert [(a.title, a.body) for a in shown] == [("Kill all streams failed", "engine stopped")]


def test_a_corrupt_config_is_a_notification_and_on_the_panel(qtbot, engine, bridge, caplog):
    """The config loaded at start-up carries what was wrong with the file: said at once, both ways."""
    caplog.set_level("INFO")
    message = "config.json could not be read (line 3): it was moved aside to config.json.corrupt-1"
    c = make_controller(engine, config=Config(warnings=(message,)), bridge=bridge)
    assert f"alert config_error : Traywidget: the settings file could not be read — {message}" in caplog.text
    assert message in c.panel.notice_text.text() and not c.panel.notice.isHidden()


def test_seed_shows_cached_snapshots_stale(qtbot, engine, bridge):
    config = Config(accounts=(Account("main", "routing.run", "Main", "https://api.routing.run/v1"),))
    c = make_controller(engine, config=config, bridge=bridge, clock=lambda: NOW)
    c.seed([make_snapshot("main", hour=(420, 500))])
    assert c.tray.badge().level == STALE and c.tray.badge().text == "420"
    assert texts(c.tray)[4] == "Main — 420 requests left this hour · OK · cached"


def test_alerts_notify_once_per_alert(qtbot, engine, bridge):
    config = Config(accounts=(Account("main", "routing.run", "Main", "https://api.routing.run/v1"),),
                    settings=Settings())
    c = make_controller(engine, config=config, bridge=bridge, clock=lambda: NOW)
    shown = []
    c.notifier.shown.connect(shown.append)
    for remaining in (400, 90, 80, 20, 10):  # crosses 20 % then 5 %
        engine.publish(make_snapshot("main", hour=(remaining, 500)))
    for _ in range(5):  # a 429 episode
        engine.publish(make_snapshot("main", hour=(10, 500), state=State.RATE_LIMITED,
                                     error=ErrorInfo("Too many requests", 429, limit_kind="hourly")))
    assert [a.title for a in shown] == [
        "Main: 90 requests left this hour", "Main: 20 requests left this hour", "Main: hourly limit hit (429)"]


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


def test_applied_settings_reach_the_engine(qtbot, engine, bridge):
    from traywidget.model import Thresholds

    accounts = (Account("main", "routing.run", "Main", "https://api.routing.run/v1"),
                Account("idle", "routing.run", "Idle", "https://api.routing.run/v1"))
    controller = make_controller(engine, config=Config(accounts=accounts), bridge=bridge)
    controller.apply_config(Config(accounts=accounts, settings=Settings(
        thresholds=Thresholds((0.3, 0.1)), fast_interval_s=90.0, full_interval_s=600.0)))
    assert engine.settings.thresholds == Thresholds((0.3, 0.1))
    assert (engine.settings.cadence.fast_s, engine.settings.cadence.full_s) == (90.0, 600.0)
    assert bridge.asked == ["refresh"]  # the new settings take effect at once
