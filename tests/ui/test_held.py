"""A held account at a glance: the badge's pause mark, "Resume requests" in the menu, the panel's
held line and its "via the gateway today" line, and one notification when a guard rail holds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.ui.conftest import NOW, make_controller, make_snapshot
from tests.ui.test_panel import make_panel, shown
from tests.ui.test_tray import action, texts
from traywidget.model import (
    HOLD_DAILY_CAP,
    HOLD_KILL,
    HOLD_RESERVE,
    Account,
    GatewayUsage,
    Hold,
    Rails,
    RequestUsage,
)
from traywidget.present.alerts import HOLD, AlertPolicy
from traywidget.present.text import menu_account_line
from traywidget.store.config import Config
from traywidget.ui.badge import MARK_ALERT, MARK_HELD, trouble_mark
from traywidget.ui.tray import TrayView

pytestmark = pytest.mark.usefixtures("utc_local_time")

UNTIL = NOW + timedelta(minutes=30)


def test_the_badge_marks_a_held_account_and_a_refusal_still_outranks_it():
    held = make_snapshot("main").with_changes(hold=Hold(HOLD_KILL, NOW, None))
    assert trouble_mark([held, make_snapshot("other")]) == MARK_HELD
    refused = make_snapshot("bad").with_changes(state=make_snapshot().state.AUTH_ERROR)
    assert trouble_mark([held, refused]) == MARK_ALERT
    assert trouble_mark([make_snapshot("main")]) == ""


def test_the_menu_offers_resume_only_while_an_account_is_held(qtbot):
    tray = TrayView(clock=lambda: NOW)
    tray.set_accounts(["main"])
    tray.update_snapshot(make_snapshot("main"))
    assert "Resume requests" not in texts(tray)
    tray.update_snapshot(make_snapshot("main").with_changes(hold=Hold(HOLD_KILL, NOW, UNTIL)))
    assert texts(tray)[2:4] == ["Kill all streams", "Resume requests"]
    assert tray.badge().mark == MARK_HELD
    with qtbot.waitSignal(tray.resume_requested, timeout=1000):
        action(tray, "Resume requests").trigger()
    assert menu_account_line(tray.snapshots["main"]).endswith(" · OK · requests held until 12:30")
    tray.update_snapshot(make_snapshot("main"))
    assert "Resume requests" not in texts(tray)


def test_the_panel_says_held_and_what_went_through_the_gateway_today(qtbot):
    panel = make_panel(qtbot)
    panel.set_accounts(["main"])
    usage = GatewayUsage(NOW)
    for _ in range(41):
        usage = usage.plus(RequestUsage("m", 20_000, 9_268, 0.0205, "USD"))
    panel.update_snapshot(make_snapshot("main").with_changes(hold=Hold(HOLD_KILL, NOW, None), gateway_usage=usage))
    card = panel.cards["main"]
    assert card.held.text() == ("New requests through the gateway are held until you resume. \"Resume requests\" "
                                "in the tray menu ends it.")
    assert card.gateway_usage.text() == "via the gateway today: 41 requests, 1.2 M tokens, $0.84"
    assert shown(card.held) and shown(card.gateway_usage)
    unreported = GatewayUsage(NOW).plus(RequestUsage(stopped=True))
    panel.update_snapshot(make_snapshot("main").with_changes(gateway_usage=unreported))
    assert card.gateway_usage.text() == "via the gateway today: 1 request, 0 tokens, cost not reported, 1 stopped"
    assert not shown(card.held)


def test_a_rail_that_holds_is_told_once_and_a_kill_hold_not_at_all():
    policy = AlertPolicy()
    reserve = make_snapshot("main").with_changes(hold=Hold(HOLD_RESERVE, NOW, UNTIL))
    (alert,) = policy.update(reserve, NOW)
    assert (alert.kind, alert.title) == (HOLD, "Main: held to keep its reserve")
    assert alert.body == ("New requests through the gateway are refused until 12:30. Resume with \"Resume requests\" "
                          "in the tray menu or: traywidget resume")
    assert policy.update(reserve, NOW + timedelta(minutes=1)) == []
    cap = make_snapshot("main").with_changes(hold=Hold(HOLD_DAILY_CAP, NOW, UNTIL))
    assert [a.title for a in policy.update(cap, NOW)] == ["Main: held at its daily spend cap"]
    assert policy.update(make_snapshot("main").with_changes(hold=Hold(HOLD_KILL, NOW, None)), NOW) == []


def test_resume_requests_reaches_the_gateway(qtbot, engine, bridge):
    resumed = []

    class Gateway:
        async def resume(self) -> list[str]:
            resumed.append(1)
            return ["main"]

    config = Config(accounts=(Account("main", "routing.run", "Main", "https://api.routing.run/v1"),))
    c = make_controller(engine, config=config, bridge=bridge, clock=lambda: NOW, gateway=Gateway())
    engine.publish(make_snapshot("main").with_changes(hold=Hold(HOLD_KILL, NOW, None)))
    qtbot.waitUntil(lambda: "main" in c.tray.snapshots)
    action(c.tray, "Resume requests").trigger()
    qtbot.waitUntil(lambda: resumed == [1])


def test_settings_choose_how_long_kill_all_streams_holds(qtbot):
    from traywidget.store.config import Settings
    from traywidget.ui.settings import SettingsDialog

    dialog = SettingsDialog(None, None, config=Config(settings=Settings(kill_hold=45)))
    qtbot.addWidget(dialog)
    items = [dialog.kill_hold.itemText(i) for i in range(dialog.kill_hold.count())]
    assert items == ["No: only stop the streams", "For 15 minutes", "For 1 hour", "For 45 minutes", "Until I resume"]
    assert dialog.build_config().settings.kill_hold == 45
    dialog.kill_hold.setCurrentIndex(dialog.kill_hold.findData("resume"))
    assert dialog.build_config().settings.kill_hold_minutes == (True, None)
    assert Settings.from_json({"kill_hold": "forever"}).kill_hold_minutes == (False, None)
    assert Settings.from_json({"kill_hold": 15}).kill_hold_minutes == (True, 15.0)


def test_the_account_dialog_keeps_and_edits_the_rails(qtbot):
    from traywidget.ui.account_editor import AccountEditor

    account = Account("main", "openrouter", "Main", "https://openrouter.ai/api/v1", rails=Rails(50, "day", 5.0))
    editor = AccountEditor(existing=account, taken_ids=set(), commit=lambda *a: None)
    qtbot.addWidget(editor)
    assert editor.build_account().rails == Rails(50, "day", 5.0)  # an edit of something else keeps them
    editor.rails_box.reserve.setValue(0)
    editor.rails_box.daily_cap.setValue(2.5)
    assert editor.build_account().rails == Rails(None, "day", 2.5)
