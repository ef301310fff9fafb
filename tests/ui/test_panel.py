"""The usage panel, offscreen: honest numbers, no clipped figure, readable in the dark, placed beside the icon."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QWidget

from tests.ui.conftest import NOW, clipped_nowhere, make_snapshot
from traywidget.model import REQUESTS_HOUR, ErrorInfo, Meter, Snapshot, State, Unit
from traywidget.store.history import HistoryStore
from traywidget.ui.badge import FINE, STALE
from traywidget.ui.colors import contrast, track_color
from traywidget.ui.panel import (
    ICON_GAP,
    SCREEN_MARGIN,
    PanelWindow,
    panel_geometry,
)

LONG_LABEL = "Team research account for the evaluation of long contexts 01"  # 60 characters


pytestmark = pytest.mark.usefixtures("utc_local_time")


def make_panel(qtbot, clock=None, **kwargs) -> PanelWindow:
    now = [clock or NOW + timedelta(seconds=12)]
    panel = PanelWindow(clock=lambda: now[0], wall_time=lambda: NOW.timestamp(), **kwargs)
    panel.now = now  # the test moves the clock through this list
    qtbot.addWidget(panel)
    return panel


def shown(widget: QWidget) -> bool:
    """Not hidden by the panel: neither it nor a parent was hidden on purpose (a new child is shown by Qt later)."""
    while widget is not None:
        if widget.isHidden() and widget.testAttribute(Qt.WidgetAttribute.WA_WState_ExplicitShowHide):
            return False
        widget = None if widget.isWindow() else widget.parentWidget()
    return True


def test_cards_show_the_numbers(qtbot):
    calls = []

    def history(account_id, meter, since):
        calls.append((account_id, meter))
        return [(since + 3600 * i, 500 - 20 * i) for i in range(24)]

    panel = make_panel(qtbot, history_source=history)
    panel.set_accounts(["main", "or"])
    panel.update_snapshot(make_snapshot("main", label="Main", hour=(420, 500), day=(1000, 1500)))
    panel.update_snapshot(make_snapshot("or", label="Router", provider="openrouter", plan=None, hour=None,
                                        credits=(4.2, 10.0), state=State.AUTH_ERROR,
                                        error=ErrorInfo("Invalid API key", 401)))
    main, router = panel.cards["main"], panel.cards["or"]
    assert main.title.full_text() == "Main" and main.state.text() == "OK"
    assert main.subtitle.full_text() == "routing.run · Premium · fetched 12 s ago"
    hour = main.rows[0]
    assert (hour.title.full_text(), hour.value.text(), hour.reset.full_text(), hour.percent.text()) == (
        "Requests this hour", "420 / 500", "Resets in 23 min", "84% left")
    assert hour.bar.level == FINE and hour.bar.fraction == 0.84
    assert router.rows[0].value.text() == "$4.20 / $10.00"
    assert router.error.text() == "The last attempt failed 12 s ago: Invalid API key (401)"
    assert router.subtitle.full_text() == "OpenRouter · never fetched"
    # sparklines load when shown, not before
    assert calls == []
    panel.show()
    qtbot.waitExposed(panel)
    assert ("main", "requests_day") in calls  # the window with the least left (67 % < 84 %)
    assert len(main.sparkline.points) == 24
    assert main.spark_title.full_text() == "Requests today — last 24 hours"
    assert panel.timer.isActive()
    # the countdown ticks while visible
    panel.now[0] = NOW + timedelta(minutes=10)
    panel.tick()
    assert hour.reset.full_text() == "Resets in 13 min"
    panel.hide()
    assert not panel.timer.isActive()


@pytest.mark.parametrize("remaining,limit,text", [
    (998, 1000, "99% left"),  # never rounded up to 100 %
    (1000, 1000, "100% left"),
    (0.5, 1000, "0% left"),
    (29, 100, "29% left"),  # 0.29 * 100 is 28.999... in floating point
    (0, 500, "0% left"),
])
def test_percent_left_rounds_down(qtbot, remaining, limit, text):
    panel = make_panel(qtbot)
    panel.update_snapshot(make_snapshot("main", hour=(remaining, limit)))
    assert panel.cards["main"].rows[0].percent.text() == text


def test_fetched_only_after_a_fetch_that_worked(qtbot):
    panel = make_panel(qtbot)
    panel.set_accounts(["main"])
    card = panel.cards["main"]
    assert (card.title.full_text(), card.subtitle.full_text()) == ("main", "not fetched yet")
    # a cached snapshot from 10 minutes ago, not confirmed yet
    cached_at = panel.now[0] - timedelta(minutes=10)
    panel.update_snapshot(make_snapshot("main", stale=True, fetched_at=cached_at))
    assert card.subtitle.full_text() == "routing.run · Premium · saved 10 min ago, not refreshed yet"
    panel.update_snapshot(make_snapshot("main", fetched_at=NOW))
    assert card.subtitle.full_text() == "routing.run · Premium · fetched 12 s ago"
    assert not shown(card.error)
    # the next poll fails: the numbers stay, said to be from 12:00, and the failure is told
    panel.now[0] = NOW + timedelta(minutes=5)
    failed_at = NOW + timedelta(minutes=4, seconds=50)
    offline = make_snapshot("main", state=State.OFFLINE, fetched_at=failed_at,
                            error=ErrorInfo("Offline: cannot resolve api.routing.run"))
    # the engine keeps the meters read at 12:00, each saying when it was read
    panel.update_snapshot(offline.with_changes(meters=tuple(replace(m, seen_at=NOW) for m in offline.meters)))
    assert card.subtitle.full_text() == "routing.run · Premium · data from 12:00"
    assert card.error.text() == "The last attempt failed 10 s ago: Offline: cannot resolve api.routing.run"
    assert card.rows[0].bar.level == STALE
    # and works again
    panel.update_snapshot(make_snapshot("main", fetched_at=NOW + timedelta(minutes=5)))
    assert card.subtitle.full_text() == "routing.run · Premium · fetched just now"
    assert not shown(card.error)


def test_streams_running(qtbot):
    panel = make_panel(qtbot)
    panel.show()
    card_of = lambda n: make_snapshot("main").with_changes(streams=n)  # noqa: E731 - a one-line helper reads better as a lambda
    panel.update_snapshot(card_of(2))
    streams = panel.cards["main"].streams
    assert streams.text() == "2 streams running" and shown(streams)
    panel.update_snapshot(card_of(1))
    assert streams.text() == "1 stream running"
    for none in (0, None):
        panel.update_snapshot(card_of(none))
        assert not shown(streams)


def test_pace_from_the_history(qtbot, tmp_path):
    # 100 requests every 5 minutes since 11:40: the 100 left at 12:00 run out at 12:05, before the 12:23 reset.
    with HistoryStore(tmp_path) as history:
        history.add_samples([("main", REQUESTS_HOUR, (NOW - timedelta(minutes=5 * i)).timestamp(), 100 + 100 * i, 1000)
                             for i in range(1, 5)])
        panel = make_panel(qtbot, clock=NOW, history_source=history.series)
        panel.update_snapshot(make_snapshot("main", hour=(100, 1000), day=(900, 1000)))
        panel.show()
        qtbot.waitExposed(panel)
        hour, day = panel.cards["main"].rows
        assert hour.pace.text() == "Estimate: at this pace you run out at 12:05 (resets 12:23)"
        assert hour.pace.toolTip() == "An estimate from your use over the last 20 min."
        assert shown(hour.pace)
        assert not shown(day.pace)  # no history for the day window: no estimate


def test_a_long_label_clips_no_figure(qtbot):
    panel = make_panel(qtbot)
    panel.set_accounts(["long", "money"])
    panel.update_snapshot(make_snapshot("long", label=LONG_LABEL, hour=(1234, 1500), day=(14999, 15000),
                                        state=State.RATE_LIMITED, error=ErrorInfo("Hourly request limit exceeded", 429))
                          .with_changes(streams=12))
    panel.update_snapshot(make_snapshot("money", label=LONG_LABEL, provider="openrouter", hour=None,
                                        credits=(1234.56, 10000.0), plan="Pay as you go with a long plan name"))
    panel.resize(panel.minimumSizeHint().width(), 700)
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.width() < 360  # really narrow
    title = panel.cards["long"].title
    assert title.text() != LONG_LABEL and title.text().endswith("…")
    assert title.toolTip() == LONG_LABEL
    checked = clipped_nowhere(panel)
    assert checked["dot"] == 2
    values = [row.value.text() for card in panel.cards.values() for row in card.rows]
    assert values == ["1,234 / 1,500", "14,999 / 15,000", "$1,234.56 / $10,000.00"]
    assert checked["whole"] >= 9  # 3 values, 3 percentages, 2 states, the streams line


def dark_palette() -> QPalette:
    palette = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#202124", QPalette.ColorRole.WindowText: "#e8eaed",
        QPalette.ColorRole.Base: "#17181a", QPalette.ColorRole.Text: "#e8eaed",
        QPalette.ColorRole.Button: "#303134", QPalette.ColorRole.ButtonText: "#e8eaed",
        QPalette.ColorRole.Highlight: "#1a4fa0", QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Mid: "#3c4043", QPalette.ColorRole.PlaceholderText: "#5f6368",
    }
    for role, color in colors.items():
        palette.setColor(role, QColor(color))
    return palette


def text_contrast(image, rect: QRect) -> float:
    """The contrast of a label's text against its background, read from rendered pixels."""
    pixels = Counter(image.pixel(x, y) for x in range(rect.left(), rect.right() + 1)
                     for y in range(rect.top(), rect.bottom() + 1))
    background = QColor.fromRgb(pixels.most_common(1)[0][0])
    return max(contrast(QColor.fromRgb(pixel), background) for pixel in pixels)


@pytest.mark.parametrize("palette", [dark_palette, QPalette], ids=["dark", "light"])
def test_readable_in_dark_and_light(qtbot, palette):
    panel = make_panel(qtbot)
    panel.setPalette(palette())
    panel.set_accounts(["main", "or", "new"])
    panel.update_snapshot(make_snapshot("main", hour=(30, 500), stale=True))
    panel.update_snapshot(make_snapshot("or", provider="openrouter", state=State.OFFLINE, hour=None,
                                        credits=(4.2, 10.0), error=ErrorInfo("Offline: network unreachable")))
    panel.set_notice("The config file could not be read.")
    panel.resize(440, 900)
    panel.show()
    qtbot.waitExposed(panel)
    image = panel.grab().toImage()
    ratio = image.width() / panel.width()
    labels = [w for w in panel.findChildren(QLabel) if w.isVisible() and w.text()]
    assert len(labels) >= 15
    for label in labels:
        origin = label.mapTo(panel, QPoint(0, 0))
        width = min(label.width(), label.fontMetrics().horizontalAdvance(label.text().split("\n")[0]) + 2)
        rect = QRect(round(origin.x() * ratio), round(origin.y() * ratio), round(width * ratio),
                     round(label.height() * ratio))
        assert text_contrast(image, rect) >= 4.5, label.text()
    window = panel.palette().color(QPalette.ColorRole.Window)
    assert contrast(track_color(panel.palette()), window) >= 1.5  # the empty part of a bar is visible


def test_first_run_welcome(qtbot):
    panel = make_panel(qtbot)
    panel.set_accounts([])
    panel.show()
    assert shown(panel.welcome) and panel.welcome.add_button.text() == "Add your first account"
    assert "<code>traywidget&nbsp;--demo</code>" in panel.welcome.demo.text()
    assert not panel.refresh_button.isEnabled() and not panel.kill_button.isEnabled()
    assert panel.settings_button.isEnabled()
    with qtbot.waitSignal(panel.add_account_requested, timeout=1000):
        panel.welcome.add_button.click()
    panel.set_accounts(["main"])
    assert not shown(panel.welcome) and panel.refresh_button.isEnabled()


def test_notice_at_the_top_until_dismissed(qtbot):
    panel = make_panel(qtbot)
    panel.set_accounts(["main"])
    panel.set_notice("The config file could not be read. It was kept as config.json.corrupt-1.")
    panel.show()
    assert shown(panel.notice) and panel.notice.geometry().bottom() < panel.cards_area.geometry().top()
    panel.notice_dismiss.click()
    assert not shown(panel.notice)


def test_removed_accounts_and_status(qtbot):
    panel = make_panel(qtbot)
    panel.update_snapshot(make_snapshot("a"))
    panel.update_snapshot(make_snapshot("b"))
    panel.set_accounts(["b"])
    assert set(panel.cards) == {"b"}
    panel.set_status("No system tray")
    assert panel.status.text() == "No system tray" and not panel.status.isHidden()


def test_buttons_emit(qtbot):
    panel = make_panel(qtbot)
    panel.set_accounts(["a"])
    for button, signal in [(panel.refresh_button, panel.refresh_requested),
                           (panel.kill_button, panel.kill_requested),
                           (panel.settings_button, panel.settings_requested)]:
        with qtbot.waitSignal(signal, timeout=1000):
            button.click()


def test_escape_and_a_second_click_close_it(qtbot):
    panel = make_panel(qtbot)
    icon = QRect(700, 0, 24, 24)
    panel.toggle(icon)
    qtbot.waitExposed(panel)
    assert panel.isVisible()
    with qtbot.waitSignal(panel.closed, timeout=1000):
        qtbot.keyClick(panel, Qt.Key.Key_Escape)
    assert not panel.isVisible()
    panel.toggle(icon)
    assert panel.isVisible()
    panel.toggle(icon)
    assert not panel.isVisible()
    # as the app's only window (no tray), Esc would quit the app: it does nothing
    panel.main_window = True
    panel.present()
    qtbot.keyClick(panel, Qt.Key.Key_Escape)
    assert panel.isVisible()


def test_present_fits_the_screen_beside_the_icon(qtbot):
    panel = make_panel(qtbot)
    panel.set_accounts([f"a{i}" for i in range(5)])
    for i in range(5):
        panel.update_snapshot(make_snapshot(f"a{i}", label=f"Account {i}", day=(900, 1000)))
    available = panel.screen().availableGeometry()
    icon = QRect(available.right() - 40, available.top(), 24, 24)
    panel.present(icon)
    geometry = panel.geometry()
    assert available.contains(geometry) and not geometry.intersects(icon)
    assert geometry.top() == icon.bottom() + 1 + ICON_GAP


TOP_BAR_SCREEN = QRect(0, 0, 1280, 720)


@pytest.mark.parametrize("icon,expected", [
    # a tray in a top bar: below the icon, centred on it but kept on screen
    (QRect(1240, 4, 24, 24), QRect(1280 - SCREEN_MARGIN - 440, 28 + ICON_GAP, 440, 600)),
    # in a bottom bar: above it
    (QRect(600, 692, 24, 24), QRect(392, 692 - ICON_GAP - 600, 440, 600)),
    # in a left side bar: beside it
    (QRect(4, 300, 24, 24), QRect(28 + ICON_GAP, 12, 440, 600)),
    # unknown place: centred
    (None, QRect(420, 60, 440, 600)),
])
def test_panel_geometry(icon, expected):
    assert panel_geometry(QSize(440, 600), icon, TOP_BAR_SCREEN) == expected


def test_an_icon_in_the_corner_opens_the_panel_below_it():
    # trayer in a top-right corner: the icon touches the right edge (0 px) more than the top (1 px)
    geometry = panel_geometry(QSize(440, 640), QRect(618, 1, 22, 15), QRect(0, 0, 640, 360))
    assert geometry == QRect(640 - SCREEN_MARGIN - 440, 16 + ICON_GAP, 440, 360 - SCREEN_MARGIN - 16 - ICON_GAP)


def test_panel_geometry_shrinks_to_a_small_screen():
    # 1280x720 at 2x is 640x360 logical; a 16 px tray bar at the top
    screen, icon = QRect(0, 0, 640, 360), QRect(610, 2, 12, 12)
    geometry = panel_geometry(QSize(440, 640), icon, screen)
    assert geometry == QRect(640 - SCREEN_MARGIN - 440, 14 + ICON_GAP, 440, 360 - SCREEN_MARGIN - 14 - ICON_GAP)
    assert screen.contains(geometry) and not geometry.intersects(icon)


def test_snapshot_text_is_plain(qtbot):
    """A provider's message is shown as text, never interpreted as markup."""
    panel = make_panel(qtbot)
    snap = Snapshot("x", "routing.run", "<b>bold</b>", State.ERROR,
                    meters=(Meter(REQUESTS_HOUR, Unit.REQUESTS, limit=10, remaining=5),),
                    error=ErrorInfo("<img src=x> failed"), fetched_at=NOW)
    panel.update_snapshot(snap)
    card = panel.cards["x"]
    assert card.title.textFormat() == Qt.TextFormat.PlainText and card.title.full_text() == "<b>bold</b>"
    assert card.error.textFormat() == Qt.TextFormat.PlainText
    assert card.error.text() == "The last attempt failed 12 s ago: <img src=x> failed"


def test_it_grows_when_the_first_numbers_arrive(qtbot):
    panel = make_panel(qtbot)
    panel.set_accounts(["a", "b"])
    available = panel.screen().availableGeometry()
    icon = QRect(available.right() - 40, available.top(), 24, 24)
    panel.present(icon)
    qtbot.waitExposed(panel)
    before = panel.height()
    panel.update_snapshot(make_snapshot("a", day=(900, 1000)))
    panel.update_snapshot(make_snapshot("b", day=(900, 1000)))
    qtbot.waitUntil(lambda: panel.height() > before, timeout=2000)
    assert available.contains(panel.geometry()) and not panel.geometry().intersects(icon)
    grown = panel.height()
    panel.set_accounts(["a"])  # less to show: it does not shrink under the user's eyes
    panel.update_snapshot(make_snapshot("a", day=(800, 1000)))
    assert panel.refit_timer.isActive()
    qtbot.waitUntil(lambda: not panel.refit_timer.isActive(), timeout=2000)  # the refit ran
    assert panel.height() == grown


def test_the_subtitle_does_not_repeat_the_label(qtbot):
    panel = make_panel(qtbot)
    panel.update_snapshot(make_snapshot("a", label="routing.run · Premium"))
    panel.update_snapshot(make_snapshot("b", label="Work (Premium)", provider="openrouter"))
    assert panel.cards["a"].subtitle.full_text() == "fetched 12 s ago"
    assert panel.cards["b"].subtitle.full_text() == "OpenRouter · fetched 12 s ago"
