"""The usage panel: a small window with one card per account.

Each card: a header (label, provider, plan, state, last error, fetched x s
ago / stale), a bar per meter coloured by level with "remaining / limit" and
the reset countdown, and a last-24-hours sparkline drawn from history.

A view: it is fed snapshots and asks `history_source(account_id, meter,
since_ts)` for sparkline samples; it never reads files or the network. The
countdowns tick once a second only while the panel is visible.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Callable, Iterable, Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from traywidget.core.formatting import reset_phrase
from traywidget.model import Meter, Snapshot, State, Thresholds, utcnow
from traywidget.providers import display_name
from traywidget.ui import text as T
from traywidget.ui.badge import LEVEL_COLORS

HistorySource = Callable[[str, str, float], Sequence[tuple[float, float]]]
SPARK_WINDOW_S = 24 * 3600.0
SPARK_REFRESH_S = 60.0

_STATE_COLORS = {
    State.OK: LEVEL_COLORS[T.OK][0],
    State.LOW: LEVEL_COLORS[T.LOW][0],
    State.EXHAUSTED: LEVEL_COLORS[T.EXHAUSTED][0],
    State.RATE_LIMITED: LEVEL_COLORS[T.EXHAUSTED][0],
    State.AUTH_ERROR: LEVEL_COLORS[T.EXHAUSTED][0],
    State.PAYMENT_REQUIRED: LEVEL_COLORS[T.EXHAUSTED][0],
}


class MeterBar(QWidget):
    """A rounded progress bar coloured by level."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fraction: float | None = None
        self.level = T.NONE
        self.setMinimumHeight(8)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(200, 8)

    def set_value(self, fraction: float | None, level: str) -> None:
        if (fraction, level) != (self.fraction, self.level):
            self.fraction, self.level = fraction, level
            self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        radius = r.height() / 2
        track = self.palette().color(self.palette().ColorRole.Mid)
        track.setAlpha(90)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(track)
        p.drawRoundedRect(r, radius, radius)
        if self.fraction is not None and self.fraction > 0:
            fill = QRectF(r.x(), r.y(), max(r.height(), r.width() * self.fraction), r.height())
            p.setBrush(QColor(LEVEL_COLORS.get(self.level, LEVEL_COLORS[T.NONE])[0]))
            p.drawRoundedRect(fill, radius, radius)
        p.end()


class Sparkline(QWidget):
    """Remaining over the last 24 h, as a line with a soft fill."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.points: list[tuple[float, float]] = []
        self.ceiling: float | None = None
        self.window_end = time.time()
        self.setMinimumHeight(28)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Remaining over the last 24 hours")

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(200, 28)

    def set_series(self, points: Sequence[tuple[float, float]], ceiling: float | None, end: float) -> None:
        self.points = list(points)
        self.ceiling = ceiling
        self.window_end = end
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(1, 2, -1, -2)
        grid = self.palette().color(self.palette().ColorRole.Mid)
        grid.setAlpha(80)
        p.setPen(QPen(grid, 1, Qt.PenStyle.DotLine))
        p.drawLine(QPointF(r.left(), r.bottom()), QPointF(r.right(), r.bottom()))
        if len(self.points) < 2:
            p.setPen(self.palette().color(self.palette().ColorRole.PlaceholderText))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, "collecting history…")
            p.end()
            return
        top = self.ceiling or max(v for _, v in self.points) or 1.0
        start = self.window_end - SPARK_WINDOW_S

        def at(ts: float, value: float) -> QPointF:
            x = r.left() + (ts - start) / SPARK_WINDOW_S * r.width()
            y = r.bottom() - max(0.0, min(1.0, value / top)) * r.height()
            return QPointF(max(r.left(), min(r.right(), x)), y)

        line = QPainterPath(at(*self.points[0]))
        for ts, value in self.points[1:]:
            line.lineTo(at(ts, value))
        area = QPainterPath(line)
        area.lineTo(QPointF(at(*self.points[-1]).x(), r.bottom()))
        area.lineTo(QPointF(at(*self.points[0]).x(), r.bottom()))
        area.closeSubpath()
        color = QColor(self.palette().color(self.palette().ColorRole.Highlight))
        soft = QColor(color)
        soft.setAlpha(50)
        p.fillPath(area, soft)
        p.setPen(QPen(color, 1.5))
        p.drawPath(line)
        p.end()


class MeterRow(QWidget):
    """Title and "remaining / limit" above the bar; reset countdown and % left below it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setSpacing(2)
        top = QHBoxLayout()
        self.title = QLabel()
        self.value = QLabel()
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        font = self.value.font()
        font.setBold(True)
        self.value.setFont(font)
        top.addWidget(self.title, 1)
        top.addWidget(self.value)
        layout.addLayout(top)
        self.bar = MeterBar()
        layout.addWidget(self.bar)
        bottom = QHBoxLayout()
        self.reset = QLabel()
        self.percent = QLabel()
        self.percent.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for label in (self.reset, self.percent):
            label.setStyleSheet("color: palette(placeholder-text);")
            small = label.font()
            small.setPointSizeF(max(6.0, small.pointSizeF() * 0.9))
            label.setFont(small)
        bottom.addWidget(self.reset, 1)
        bottom.addWidget(self.percent)
        layout.addLayout(bottom)
        self.meter: Meter | None = None

    def set_meter(self, meter: Meter, thresholds: Thresholds, now: datetime, dim: bool) -> None:
        self.meter = meter
        self.title.setText(meter.title)
        self.value.setText(T.meter_value_text(meter))
        countdown = reset_phrase(meter.resets_at, now, meter.approximate_reset)
        self.reset.setText((countdown[0].upper() + countdown[1:]) if countdown else "")
        fraction = meter.fraction_left
        self.percent.setText(f"{fraction:.0%} left" if fraction is not None else "")
        level = T.STALE if dim else T.meter_level(meter, thresholds)
        self.bar.set_value(fraction, level)
        self.bar.setVisible(meter.capped)
        self.reset.setVisible(bool(countdown) or fraction is not None)
        self.percent.setVisible(fraction is not None)


class AccountCard(QFrame):
    def __init__(self, account_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.account_id = account_id
        self.setObjectName("accountCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(4)
        head = QHBoxLayout()
        self.title = QLabel()
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.08)
        self.title.setFont(font)
        self.state = QLabel()
        self.state.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.state)
        layout.addLayout(head)
        self.subtitle = QLabel()
        self.subtitle.setStyleSheet("color: palette(placeholder-text);")
        layout.addWidget(self.subtitle)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {LEVEL_COLORS[T.EXHAUSTED][0]};")
        layout.addWidget(self.error)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet("color: palette(placeholder-text);")
        layout.addWidget(self.notes)
        self.meters_box = QVBoxLayout()
        self.meters_box.setSpacing(4)
        layout.addLayout(self.meters_box)
        self.rows: list[MeterRow] = []
        self.spark_title = QLabel("Last 24 hours")
        self.spark_title.setStyleSheet("color: palette(placeholder-text);")
        layout.addWidget(self.spark_title)
        self.sparkline = Sparkline()
        layout.addWidget(self.sparkline)
        self.snapshot: Snapshot | None = None
        self.spark_meter: str | None = None
        self.spark_loaded_at = 0.0

    def set_snapshot(self, snapshot: Snapshot, thresholds: Thresholds, now: datetime) -> None:
        self.snapshot = snapshot
        self.title.setText(snapshot.label)
        state_text = T.STATE_TEXT.get(snapshot.state, snapshot.state.value)
        color = _STATE_COLORS.get(snapshot.state, LEVEL_COLORS[T.STALE][0])
        self.state.setText(f'<span style="color:{color}">●</span> {state_text}')
        self.error.setText("Last error: " + (T.error_text(snapshot) or ""))
        self.error.setVisible(bool(T.error_text(snapshot)) and not snapshot.state.is_fine)
        self.notes.setText("\n".join(snapshot.notes))
        self.notes.setVisible(bool(snapshot.notes))
        while len(self.rows) < len(snapshot.meters):
            row = MeterRow()
            self.rows.append(row)
            self.meters_box.addWidget(row)
        while len(self.rows) > len(snapshot.meters):
            row = self.rows.pop()
            row.setParent(None)
            row.deleteLater()
        self.tick(thresholds, now)
        bound = T.binding_meter([snapshot])
        self.spark_meter = bound[1].name if bound else None

    def tick(self, thresholds: Thresholds, now: datetime) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            return
        provider = display_name(snapshot.provider)
        plan = f" · {snapshot.plan}" if snapshot.plan else ""
        self.subtitle.setText(f"{provider}{plan} · {T.age_text(snapshot, now)}")
        dim = snapshot.stale or snapshot.state.is_transient
        for row, meter in zip(self.rows, snapshot.meters):
            row.set_meter(meter, thresholds, now, dim)

    def load_sparkline(self, source: HistorySource | None, end: float) -> None:
        self.spark_loaded_at = end
        show = source is not None and self.spark_meter is not None
        self.spark_title.setVisible(show)
        self.sparkline.setVisible(show)
        if not show or self.snapshot is None:
            return
        meter = self.snapshot.meter(self.spark_meter)  # type: ignore[arg-type]
        points = source(self.snapshot.account_id, self.spark_meter, end - SPARK_WINDOW_S)  # type: ignore[misc, arg-type]
        title = meter.title if meter else self.spark_meter
        self.spark_title.setText(f"{title} — last 24 hours")
        self.sparkline.set_series(points, meter.limit if meter else None, end)


class PanelWindow(QWidget):
    refresh_requested = Signal()
    kill_requested = Signal()
    settings_requested = Signal()
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
        self.setWindowTitle("Usage")  # Qt appends " — Traywidget" (the display name) itself
        self.setObjectName("panel")
        self.thresholds = thresholds
        self.history_source = history_source
        self._clock = clock
        self._wall = wall_time
        self.cards: dict[str, AccountCard] = {}
        self._order: list[str] | None = None
        self.quit_on_close = False

        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 10, 10, 10)
        outer.setSpacing(8)
        self.empty = QLabel("No accounts yet. Open Settings… to add one, or start with --demo to try it.")
        self.empty.setWordWrap(True)
        outer.addWidget(self.empty)
        self._cards_host = QWidget()
        self._cards_layout = QVBoxLayout(self._cards_host)
        self._cards_layout.setContentsMargins(0, 0, 0, 0)
        self._cards_layout.setSpacing(8)
        self._cards_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self._cards_host)
        outer.addWidget(scroll, 1)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setObjectName("status")
        self.status.setVisible(False)
        outer.addWidget(self.status)

        buttons = QHBoxLayout()
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh_requested)
        self.kill_button = QPushButton("Kill all streams")
        self.kill_button.clicked.connect(self.kill_requested)
        self.settings_button = QPushButton("Settings…")
        self.settings_button.clicked.connect(self.settings_requested)
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.kill_button)
        buttons.addStretch(1)
        buttons.addWidget(self.settings_button)
        outer.addLayout(buttons)

        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(lambda: self.tick(visible_only=True))
        self.resize(440, 560)

    # ------------------------------------------------------------- data
    def update_snapshot(self, snapshot: Snapshot) -> None:
        card = self.cards.get(snapshot.account_id)
        if card is None:
            card = AccountCard(snapshot.account_id)
            self.cards[snapshot.account_id] = card
            self._place_cards()
        card.set_snapshot(snapshot, self.thresholds, self._clock())
        self.empty.setVisible(False)
        if self.isVisible():
            end = self._wall()
            if end - card.spark_loaded_at >= SPARK_REFRESH_S:
                card.load_sparkline(self.history_source, end)

    def set_snapshots(self, snapshots: Iterable[Snapshot]) -> None:
        for snapshot in snapshots:
            self.update_snapshot(snapshot)

    def set_accounts(self, account_ids: Iterable[str]) -> None:
        self._order = list(account_ids)
        for account_id in list(self.cards):
            if account_id not in self._order:
                card = self.cards.pop(account_id)
                card.setParent(None)
                card.deleteLater()
        self._place_cards()
        self.empty.setVisible(not self.cards and not self._order)

    def set_thresholds(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        self.tick()

    def set_status(self, text: str | None) -> None:
        self.status.setText(text or "")
        self.status.setVisible(bool(text))

    def _place_cards(self) -> None:
        order = self._order or []
        ids = [i for i in order if i in self.cards] + [i for i in self.cards if i not in order]
        for card in self.cards.values():
            self._cards_layout.removeWidget(card)
        for index, account_id in enumerate(ids):
            self._cards_layout.insertWidget(index, self.cards[account_id])

    # ------------------------------------------------------------ clock
    def tick(self, visible_only: bool = False) -> None:
        now = self._clock()
        for card in self.cards.values():
            # The 1 s countdown tick skips cards scrolled out of view: with many
            # accounts, redrawing them all every second stalls the event loop.
            if visible_only and card.visibleRegion().isEmpty():
                continue
            card.tick(self.thresholds, now)

    def load_sparklines(self) -> None:
        end = self._wall()
        for card in self.cards.values():
            card.load_sparkline(self.history_source, end)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.tick()
        self.load_sparklines()
        self.timer.start()

    def hideEvent(self, event) -> None:  # noqa: N802
        super().hideEvent(event)
        self.timer.stop()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.timer.stop()
        self.closed.emit()
        super().closeEvent(event)

    def texts(self) -> list[str]:
        """Every visible label text (tests, screenshots)."""
        return [w.text() for w in self.findChildren(QLabel) if w.text()]

    def present(self, near: QRectF | None = None) -> None:
        """Show and raise, placed near the tray icon when its geometry is known."""
        if near is not None and near.isValid() and near.width() > 0:
            screen = self.screen().availableGeometry() if self.screen() else None
            x = int(near.center().x() - self.width() / 2)
            y = int(near.bottom() + 4)
            if screen is not None:
                if y + self.height() > screen.bottom():
                    y = int(near.top() - self.height() - 4)
                x = max(screen.left(), min(x, screen.right() - self.width()))
                y = max(screen.top(), y)
            self.move(x, y)
        self.show()
        self.raise_()
        self.activateWindow()
