"""One severity everywhere: every state gets the same level in every view — the JSON, Waybar's class,
`--format line`, the exit code, the badge's corner mark (combined and per-account icons), the panel's
dot — and the menu and tooltip say the same words for it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from PySide6.QtGui import QColor

from tests.ui.conftest import NOW, make_snapshot
from traywidget.cli import bar
from traywidget.cli.polling import status_exit_code
from traywidget.model import ErrorInfo, State
from traywidget.present.headline import pick_headline
from traywidget.present.severity import Severity, severity_of
from traywidget.present.status_document import account_document
from traywidget.present.text import menu_account_line, status_text, tooltip_text
from traywidget.ui.badge import SEVERITY_COLORS, SEVERITY_MARKS, badge_spec
from traywidget.ui.panel import PanelWindow
from traywidget.ui.tray import TrayView

# state -> (its snapshot's hour window, its error), its level, the exit code, the Waybar class
CASES = {
    State.OK: ((420, 500), None, Severity.FINE, 0),
    State.LOW: ((50, 500), None, Severity.LOW, 0),
    State.OFFLINE: ((420, 500), ErrorInfo("Offline: cannot resolve api.routing.run"), Severity.FAILING, 1),
    State.ERROR: ((420, 500), ErrorInfo("Bad gateway", 502), Severity.FAILING, 1),
    State.EXHAUSTED: ((0, 500), None, Severity.REFUSED, 0),
    State.RATE_LIMITED: ((300, 500), ErrorInfo("Too many requests", 429, retry_after_s=30), Severity.REFUSED, 0),
    State.AUTH_ERROR: (None, ErrorInfo("Invalid API key", 401), Severity.ACTION, 1),
    State.PAYMENT_REQUIRED: (None, ErrorInfo("Top up your account", 402), Severity.ACTION, 1),
    State.NO_KEY: (None, ErrorInfo("No API key saved for Main."), Severity.ACTION, 1),
    State.BLOCKED: (None, ErrorInfo("Blocked by the provider's firewall (Cloudflare 1010): it rejected this client",
                                    403, code="FIREWALL_BLOCKED"), Severity.ACTION, 1),
}


def test_every_state_has_a_case():
    assert set(CASES) == set(State)


@pytest.mark.parametrize("state", list(CASES), ids=[s.value for s in CASES])
def test_a_state_has_one_severity_in_every_view(qtbot, state, utc_local_time):
    hour, error, level, code = CASES[state]
    snap = make_snapshot("main", label="Main", state=state, hour=hour, error=error)
    assert severity_of(snap) is level
    # scripts and status bars
    assert account_document(snap)["severity"] == level.word
    assert bar.bar_class([snap]) == level.word
    headline = pick_headline([snap])
    assert json.loads(bar.waybar_line([snap], headline, NOW))["class"] == level.word
    named = bar.plain_line([snap], headline).endswith(f"Main: {status_text(snap)}")
    assert named is (level >= Severity.FAILING)
    assert status_exit_code([snap]) == code
    # the badge: the combined icon and the account's own icon raise the level's mark
    assert badge_spec([snap], headline).mark == SEVERITY_MARKS[level]
    tray = TrayView(clock=lambda: NOW, icon_per_account=True)
    tray.set_accounts(["main"])
    tray.set_snapshots([snap])
    assert tray.badge("main").mark == SEVERITY_MARKS[level]
    # the panel's dot
    panel = PanelWindow(clock=lambda: NOW + timedelta(seconds=12), wall_time=lambda: NOW.timestamp())
    qtbot.addWidget(panel)
    panel.update_snapshot(snap)
    assert panel.cards["main"].dot.color == QColor(SEVERITY_COLORS[level])
    # the menu and the tooltip say the same state words
    assert menu_account_line(snap).endswith(f" · {status_text(snap)}")
    assert tooltip_text([snap], headline, NOW).endswith(f" · {status_text(snap)}")
    assert [a.text() for a in tray.contextMenu().actions() if a.menu()] == [menu_account_line(snap)]
