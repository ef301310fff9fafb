"""Longer words do not clip: the narrowest panel in German, Spanish and Chinese still shows every figure,
percentage, state and status dot whole (the English check is tests/ui/test_panel.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.ui.conftest import NOW, clipped_nowhere, make_snapshot
from traywidget.i18n import use_language
from traywidget.i18n.numbers import NBSP
from traywidget.model import ErrorInfo, State
from traywidget.ui.panel import PREFERRED_WIDTH, PanelWindow

LONG_LABEL = "Forschungskonto des Teams für die Auswertung langer Kontexte 1"  # 60+ characters

EXPECTED = {
    "de": (["1.234 / 1.500", "14.999 / 15.000", f"1.234,56{NBSP}$ / 10.000,00{NBSP}$"], "Zu viele Anfragen (429)",
           "12 Streams laufen"),
    "es": (["1234 / 1500", "14.999 / 15.000", f"1234,56{NBSP}US$ / 10.000,00{NBSP}US$"],
           "Demasiadas solicitudes (429)", "12 streams en curso"),
    "zh_CN": (["1,234 / 1,500", "14,999 / 15,000", "US$1,234.56 / US$10,000.00"], "请求过多（429）",
              "12 个流式请求进行中"),
}


@pytest.mark.parametrize("language", sorted(EXPECTED))
def test_the_narrowest_panel_clips_no_figure(qtbot, language):
    use_language(language)
    panel = PanelWindow(clock=lambda: NOW + timedelta(seconds=12), wall_time=lambda: NOW.timestamp())
    qtbot.addWidget(panel)
    panel.set_accounts(["long", "money", "nokey"])
    panel.update_snapshot(make_snapshot("long", label=LONG_LABEL, hour=(1234, 1500), day=(14999, 15000),
                                        state=State.RATE_LIMITED, error=ErrorInfo("Hourly request limit exceeded", 429))
                          .with_changes(streams=12))
    panel.update_snapshot(make_snapshot("money", label=LONG_LABEL, provider="openrouter", hour=None,
                                        credits=(1234.56, 10000.0), plan="Pay as you go with a long plan name"))
    panel.update_snapshot(make_snapshot("nokey", label=LONG_LABEL, provider="routeway", hour=None, plan=None,
                                        state=State.PAYMENT_REQUIRED, stale=True,
                                        fetched_at=NOW - timedelta(days=2, hours=3)))
    panel.resize(panel.minimumSizeHint().width(), 900)
    panel.show()
    qtbot.waitExposed(panel)
    # as narrow as the panel can be: narrower than it opens by default, so that width has room to spare
    assert panel.width() == panel.minimumSizeHint().width() < PREFERRED_WIDTH
    checked = clipped_nowhere(panel)
    values, state, streams = EXPECTED[language]
    assert checked["dot"] == 3
    assert [row.value.text() for card in panel.cards.values() for row in card.rows] == values
    assert panel.cards["long"].state.text() == state
    assert panel.cards["long"].streams.text() == streams
    assert checked["whole"] >= 11  # 3 values, 3 percentages, 3 states, the streams line, the problem
