"""The usage panel: a small window with one card per account (ui/panel_card.py; its painted widgets in
ui/panel_widgets.py).

Each card: a header (status dot, label, state), the provider, plan and how
fresh the numbers are, the last error, the streams running, a bar per meter
with "remaining / limit", the reset countdown, % left (rounded down) and the
pace forecast, and a last-24-hours sparkline drawn from history.

A view: it is fed snapshots and asks `history_source(account_id, meter,
since_ts)` for samples; it never reads files or the network. The countdowns
tick once a second only while the panel is visible.

It fits the screen it opens on and sits beside the tray icon without
covering it; long labels shorten with "…" (full text in the tooltip) so no
figure, percentage or status dot is ever cut off; its colours follow the
palette, light or dark.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from PySide6.QtCore import QEvent, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from traywidget.i18n import tr
from traywidget.model import Snapshot, Thresholds, utcnow
from traywidget.present.pace import (
    HistorySource,
)
from traywidget.ui.colors import (
    ERROR,
    MUTED,
    apply_tones,
    wrapped_label,
)
from traywidget.ui.panel_card import AccountCard

log = logging.getLogger(__name__)

SPARK_REFRESH_S = 60.0
# Space kept free between the panel and the screen's edges or the tray icon.
SCREEN_MARGIN = 8
ICON_GAP = 6
PREFERRED_WIDTH = 440
MAX_PREFERRED_HEIGHT = 640


def panel_geometry(size: QSize, near: QRect | None, available: QRect) -> QRect:
    """Where the panel goes: inside `available`, beside `near` (the tray icon) without covering it.

    The panel shrinks to fit: to the screen, and to the side of the icon with
    the most room when it does not fit on any side as it is.
    """
    width = min(size.width(), available.width() - 2 * SCREEN_MARGIN)
    height = min(size.height(), available.height() - 2 * SCREEN_MARGIN)
    left_edge, top_edge = available.left() + SCREEN_MARGIN, available.top() + SCREEN_MARGIN
    right_edge = available.left() + available.width() - SCREEN_MARGIN  # one past the last pixel
    bottom_edge = available.top() + available.height() - SCREEN_MARGIN
    if near is None or not near.isValid():
        x = available.left() + (available.width() - width) // 2
        y = available.top() + (available.height() - height) // 2
        return QRect(x, y, width, height)

    icon_right, icon_bottom = near.left() + near.width(), near.top() + near.height()
    below = bottom_edge - (icon_bottom + ICON_GAP)
    above = (near.top() - ICON_GAP) - top_edge
    right = right_edge - (icon_right + ICON_GAP)
    left = (near.left() - ICON_GAP) - left_edge

    def clamp(value: int, low: int, high: int) -> int:
        return max(low, min(value, high))

    # A tray in a top or bottom bar opens the panel below or above the icon; one in a side bar, beside it.
    # An icon in a corner is taken to be in a top or bottom bar, by far the more common kind.
    to_horizontal_edge = min(near.top() - available.top(), available.top() + available.height() - icon_bottom)
    to_vertical_edge = min(near.left() - available.left(), available.left() + available.width() - icon_right)
    in_corner = to_horizontal_edge <= max(near.width(), near.height())
    if to_horizontal_edge <= to_vertical_edge or in_corner:
        height = min(height, max(below, above))
        y = icon_bottom + ICON_GAP if below >= height else near.top() - ICON_GAP - height
        x = clamp(near.left() + near.width() // 2 - width // 2, left_edge, right_edge - width)
    else:
        width = min(width, max(right, left))
        x = icon_right + ICON_GAP if right >= width else near.left() - ICON_GAP - width
        y = clamp(near.top() + near.height() // 2 - height // 2, top_edge, bottom_edge - height)
    return QRect(x, y, width, height)


class Welcome(QWidget):
    """What the panel shows before there is any account: what it is for, and the way in."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 8, 4, 8)
        layout.setSpacing(10)
        self.title = wrapped_label()
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.25)
        self.title.setFont(font)
        self.text = wrapped_label()
        self.add_button = QPushButton()
        self.add_button.setDefault(True)
        self.demo = wrapped_label(MUTED)
        self.demo.setTextFormat(Qt.TextFormat.RichText)  # our own words, with the command set apart
        self.demo.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.set_texts()
        layout.addWidget(self.title)
        layout.addWidget(self.text)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(self.demo)

    def set_texts(self) -> None:
        self.title.setText(tr("Welcome to Traywidget"))
        self.text.setText(tr(
            "See the requests and credits left on your routing.run, OpenRouter and Routeway accounts "
            "at a glance, and get told when a limit hits. Add an account with its API key to start; "
            "the key is kept in your system's keyring, never in a file."))
        self.add_button.setText(tr("Add your first account"))
        self.demo.setText(tr(
            "Just looking? Run {command} to try it with simulated accounts: "
            "no keys needed, nothing of yours is touched.").format(command="<code>traywidget&nbsp;--demo</code>"))


class PanelWindow(QWidget):
    refresh_requested = Signal()
    kill_requested = Signal()
    settings_requested = Signal()
    add_account_requested = Signal()
    closed = Signal()

    def __init__(
        self,
        *,
        thresholds: Thresholds = Thresholds(),
        history_source: HistorySource | None = None,
        clock: Callable[[], datetime] = utcnow,
        wall_time: Callable[[], float] = time.time,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("panel")
        self.thresholds = thresholds
        self.history_source = history_source
        self._clock = clock
        self._wall = wall_time
        self.cards: dict[str, AccountCard] = {}
        self._order: list[str] = []
        # With no tray the panel is the app's main window: closing it quits, so Esc does not.
        self.main_window = False
        self._near: QRect | None = None  # the tray icon it was opened beside
        self.refit_timer = QTimer(self)
        self.refit_timer.setSingleShot(True)
        self.refit_timer.timeout.connect(self._refit)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 10, 10, 10)
        outer.setSpacing(8)
        # Problems the user must see first (a config file that could not be read) stay on top.
        self.notice = QFrame()
        self.notice.setObjectName("notice")
        self.notice.setFrameShape(QFrame.Shape.StyledPanel)
        notice_layout = QHBoxLayout(self.notice)
        notice_layout.setContentsMargins(8, 6, 8, 6)
        self.notice_text = wrapped_label(ERROR)
        self.notice_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice_dismiss = QPushButton()
        self.notice_dismiss.clicked.connect(lambda: self.set_notice(None))
        notice_layout.addWidget(self.notice_text, 1)
        notice_layout.addWidget(self.notice_dismiss, 0, Qt.AlignmentFlag.AlignTop)
        self.notice.setVisible(False)
        outer.addWidget(self.notice)

        self._cards_host = QWidget()
        self._cards_layout = QVBoxLayout(self._cards_host)
        self._cards_layout.setContentsMargins(0, 0, 0, 0)
        self._cards_layout.setSpacing(8)
        self.welcome = Welcome()
        self.welcome.add_button.clicked.connect(self.add_account_requested)
        self._cards_layout.addWidget(self.welcome)
        self._cards_layout.addStretch(1)
        self.cards_area = QScrollArea()
        self.cards_area.setWidgetResizable(True)
        self.cards_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.cards_area.setFrameShape(QFrame.Shape.NoFrame)
        self.cards_area.setWidget(self._cards_host)
        outer.addWidget(self.cards_area, 1)

        self.status = wrapped_label()
        self.status.setObjectName("status")
        self.status.setVisible(False)
        outer.addWidget(self.status)

        buttons = QHBoxLayout()
        self.refresh_button = QPushButton()
        self.refresh_button.clicked.connect(self.refresh_requested)
        self.kill_button = QPushButton()
        self.kill_button.clicked.connect(self.kill_requested)
        self.settings_button = QPushButton()
        self.settings_button.clicked.connect(self.settings_requested)
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.kill_button)
        buttons.addStretch(1)
        buttons.addWidget(self.settings_button)
        outer.addLayout(buttons)

        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(lambda: self.tick(visible_only=True))
        self._set_texts()
        apply_tones(self)
        self._sync_first_run()
        self.resize(PREFERRED_WIDTH, 560)

    def _set_texts(self) -> None:
        self.setWindowTitle(tr("Usage"))  # Qt appends " — Traywidget" (the display name) itself
        self.notice_dismiss.setText(tr("Dismiss"))
        self.refresh_button.setText(tr("Refresh"))
        self.kill_button.setText(tr("Kill all streams"))
        self.settings_button.setText(tr("Settings…"))

    def retranslate(self) -> None:
        """Say everything again in the language now spoken (Settings changed it)."""
        self._set_texts()
        self.welcome.set_texts()
        now = self._clock()
        for card in self.cards.values():
            card.retranslate(self.thresholds, now)
        if self.isVisible():
            self.load_history()
            self.refit_timer.start(0)

    # ------------------------------------------------------------- data
    def update_snapshot(self, snapshot: Snapshot) -> None:
        card = self._card(snapshot.account_id)
        card.set_snapshot(snapshot, self.thresholds, self._clock())
        if self.isVisible():
            end = self._wall()
            if end - card.spark_loaded_at >= SPARK_REFRESH_S:
                card.load_history(self.history_source, end, self._clock())
            self.refit_timer.start(0)

    def set_snapshots(self, snapshots: Iterable[Snapshot]) -> None:
        for snapshot in snapshots:
            self.update_snapshot(snapshot)

    def set_accounts(self, account_ids: Iterable[str]) -> None:
        """The configured accounts, in order; one not heard from yet gets a card that says so."""
        self._order = list(account_ids)
        for account_id in list(self.cards):
            if account_id not in self._order:
                card = self.cards.pop(account_id)
                card.setParent(None)
                card.deleteLater()
        for account_id in self._order:
            self._card(account_id)
        self._place_cards()

    def set_thresholds(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        self.tick()

    def set_status(self, text: str | None) -> None:
        self.status.setText(text or "")
        self.status.setVisible(bool(text))

    def set_notice(self, text: str | None) -> None:
        """A problem shown at the top until dismissed (e.g. a config file that could not be read)."""
        self.notice_text.setText(text or "")
        self.notice.setVisible(bool(text))

    def add_notice(self, text: str) -> None:
        """One more problem under the ones already shown at the top."""
        shown = self.notice_text.text() if self.notice.isVisibleTo(self) else ""
        self.set_notice(f"{shown}\n\n{text}" if shown else text)

    def _card(self, account_id: str) -> AccountCard:
        card = self.cards.get(account_id)
        if card is None:
            card = AccountCard(account_id)
            self.cards[account_id] = card
            self._place_cards()
            apply_tones(self)
        return card

    def _place_cards(self) -> None:
        ids = [i for i in self._order if i in self.cards] + [i for i in self.cards if i not in self._order]
        for card in self.cards.values():
            self._cards_layout.removeWidget(card)
        for index, account_id in enumerate(ids):
            self._cards_layout.insertWidget(index + 1, self.cards[account_id])  # after the welcome
        self._sync_first_run()

    def _sync_first_run(self) -> None:
        first_run = not self.cards
        self.welcome.setVisible(first_run)
        self.refresh_button.setEnabled(not first_run)
        self.kill_button.setEnabled(not first_run)

    # ------------------------------------------------------------ clock
    def tick(self, visible_only: bool = False) -> None:
        now = self._clock()
        for card in self.cards.values():
            # The 1 s countdown tick skips cards scrolled out of view: with many
            # accounts, redrawing them all every second stalls the event loop.
            if visible_only and card.visibleRegion().isEmpty():
                continue
            card.tick(self.thresholds, now)

    def load_history(self) -> None:
        end, now = self._wall(), self._clock()
        for card in self.cards.values():
            card.load_history(self.history_source, end, now)

    # ----------------------------------------------------------- window
    def present(self, near: QRect | QRectF | None = None) -> None:
        """Show and raise, fitted to the screen it opens on and beside the tray icon when its place is known."""
        icon = near.toAlignedRect() if isinstance(near, QRectF) else near
        self._near = icon if icon is not None and icon.isValid() and not icon.isEmpty() else None
        self._fit(grow_only=False)
        self.show()
        self.raise_()
        self.activateWindow()

    def toggle(self, near: QRect | QRectF | None = None) -> None:
        """A click on the tray icon: open the panel, or close it when it is open."""
        if self.isVisible() and not self.isMinimized():
            self.hide()
        else:
            self.present(near)

    def _fit(self, grow_only: bool) -> None:
        icon = self._near
        screen = QGuiApplication.screenAt(icon.center()) if icon is not None else None
        screen = screen or self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        available = screen.availableGeometry()
        if grow_only:
            # Already as tall as it may get: skip measuring every card (costly with many accounts).
            tallest = panel_geometry(QSize(self.width(), MAX_PREFERRED_HEIGHT), icon, available)
            if self.height() >= tallest.height():
                return
        geometry = panel_geometry(self._wanted_size(), icon, available)
        if grow_only and geometry.height() <= self.height():
            return
        log.debug("panel at %s (icon at %s, screen %s)", geometry, icon, available)
        self.setGeometry(geometry)

    def _refit(self) -> None:
        """Cards that grew while the panel is open (the first numbers, a sparkline) make it grow, up to the screen."""
        if self.isVisible() and not self.main_window:
            self._fit(grow_only=True)

    def _wanted_size(self) -> QSize:
        """Room for every card without scrolling, within reason; the screen may allow less."""
        layout = self.layout()
        assert layout is not None  # set in __init__
        layout.activate()
        chrome = layout.sizeHint().height() - self.cards_area.sizeHint().height()
        content = self._cards_host.sizeHint().height() + 2
        minimum = self.minimumSizeHint()
        width = max(PREFERRED_WIDTH, minimum.width())
        height = max(minimum.height(), min(MAX_PREFERRED_HEIGHT, chrome + content))
        return QSize(width, height)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape and not self.main_window:
            self.close()
            return
        super().keyPressEvent(event)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            apply_tones(self)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.tick()
        self.load_history()
        self.timer.start()
        self.refit_timer.start(0)

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.timer.stop()

    def closeEvent(self, event) -> None:
        self.timer.stop()
        self.closed.emit()
        super().closeEvent(event)
