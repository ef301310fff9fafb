"""The usage panel: a small window with one card per account.

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
from datetime import datetime
from typing import Callable, Iterable, Sequence

from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPainterPath, QPen
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

from traywidget.present.formatting import meter_title, reset_phrase
from traywidget.present.pace import (
    HistorySource,
    Pace,
    basis_text,
    estimate_from,
    pace_text,
)
from traywidget.present.severity import meter_severity, severity_of
from traywidget.i18n import tr, trn
from traywidget.i18n.numbers import percent as percent_text
from traywidget.model import Freshness, Meter, Snapshot, State, Thresholds, utcnow
from traywidget.providers import display_name
from traywidget.ui.badge import LEVEL_COLORS, NONE, SEVERITY_COLORS, STALE
from traywidget.ui.colors import (
    ERROR,
    MUTED,
    WARNING,
    apply_tones,
    grid_color,
    line_color,
    set_tone,
    tone_color,
    track_color,
    wrapped_label,
)
from traywidget.present.text import (
    account_state_text,
    age_text,
    ago_text,
    binding_meter,
    error_text,
    freshness_text,
    gateway_usage_text,
    held_text,
    meter_value_text,
    state_text,
    state_word,
)

log = logging.getLogger(__name__)

SPARK_WINDOW_S = 24 * 3600.0
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


class ElidedLabel(QLabel):
    """One line of text that shortens itself with "…" to fit; the full text is then its tooltip."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setText(text)

    def full_text(self) -> str:
        return self._full

    def setText(self, text: str) -> None:  # noqa: N802 - QLabel's name
        if text == self._full and self.text():
            return
        self._full = text
        self.updateGeometry()
        self._elide()

    def sizeHint(self) -> QSize:  # noqa: N802
        margins = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance(self._full) + margins.left() + margins.right() + 2
        return QSize(width, self.fontMetrics().height() + margins.top() + margins.bottom())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        margins = self.contentsMargins()
        shortest = self.fontMetrics().horizontalAdvance(self._full[:2] + "…") + margins.left() + margins.right() + 2
        return QSize(min(shortest, self.sizeHint().width()), self.sizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self.updateGeometry()
            self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, self.contentsRect().width())
        QLabel.setText(self, shown)
        self.setToolTip(self._full if shown != self._full else "")


class StatusDot(QWidget):
    """The state's colour as a dot, sized to the text beside it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.color = QColor(LEVEL_COLORS[STALE][0])
        side = max(8, round(self.fontMetrics().height() * 0.6))
        self.setFixedSize(side, side)

    def set_color(self, color: str) -> None:
        if QColor(color) != self.color:
            self.color = QColor(color)
            self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.color)
        painter.drawEllipse(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5))
        painter.end()


class MeterBar(QWidget):
    """A rounded progress bar coloured by level, on a track that follows the palette."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fraction: float | None = None
        self.level = NONE
        self.setMinimumHeight(8)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(200, 8)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(40, 8)

    def set_value(self, fraction: float | None, level: str) -> None:
        if (fraction, level) != (self.fraction, self.level):
            self.fraction, self.level = fraction, level
            self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        radius = rect.height() / 2
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(track_color(self.palette()))
        painter.drawRoundedRect(rect, radius, radius)
        if self.fraction is not None and self.fraction > 0:
            fill = QRectF(rect.x(), rect.y(), max(rect.height(), rect.width() * self.fraction), rect.height())
            painter.setBrush(QColor(LEVEL_COLORS.get(self.level, LEVEL_COLORS[NONE])[0]))
            painter.drawRoundedRect(fill, radius, radius)
        painter.end()


class Sparkline(QWidget):
    """Remaining over the last 24 h, as a line with a soft fill."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.points: list[tuple[float, float]] = []
        self.ceiling: float | None = None
        self.window_end = time.time()
        self.setMinimumHeight(28)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip(tr("Remaining over the last 24 hours"))

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(200, 28)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(40, 28)

    def set_series(self, points: Sequence[tuple[float, float]], ceiling: float | None, end: float) -> None:
        self.points = list(points)
        self.ceiling = ceiling
        self.window_end = end
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(1, 2, -1, -2)
        palette = self.palette()
        painter.setPen(QPen(grid_color(palette), 1, Qt.PenStyle.DotLine))
        painter.drawLine(QPointF(rect.left(), rect.bottom()), QPointF(rect.right(), rect.bottom()))
        if len(self.points) < 2:
            painter.setPen(tone_color(palette, MUTED))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, tr("collecting history…"))
            painter.end()
            return
        top = self.ceiling or max(v for _, v in self.points) or 1.0
        start = self.window_end - SPARK_WINDOW_S

        def at(ts: float, value: float) -> QPointF:
            x = rect.left() + (ts - start) / SPARK_WINDOW_S * rect.width()
            y = rect.bottom() - max(0.0, min(1.0, value / top)) * rect.height()
            return QPointF(max(rect.left(), min(rect.right(), x)), y)

        line = QPainterPath(at(*self.points[0]))
        for ts, value in self.points[1:]:
            line.lineTo(at(ts, value))
        area = QPainterPath(line)
        area.lineTo(QPointF(at(*self.points[-1]).x(), rect.bottom()))
        area.lineTo(QPointF(at(*self.points[0]).x(), rect.bottom()))
        area.closeSubpath()
        color = line_color(palette)
        soft = QColor(color)
        soft.setAlpha(50)
        painter.fillPath(area, soft)
        painter.setPen(QPen(color, 1.5))
        painter.drawPath(line)
        painter.end()


def _small(label: QLabel) -> QLabel:
    font = label.font()
    font.setPointSizeF(max(6.0, font.pointSizeF() * 0.9))
    label.setFont(font)
    return label


class MeterRow(QWidget):
    """Title and "remaining / limit" above the bar; the reset countdown and % left below; the pace last."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setSpacing(2)
        top = QHBoxLayout()
        self.title = ElidedLabel()
        self.value = QLabel()
        self.value.setTextFormat(Qt.TextFormat.PlainText)
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
        self.reset = _small(ElidedLabel())
        self.percent = _small(QLabel())
        self.percent.setTextFormat(Qt.TextFormat.PlainText)
        self.percent.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for label in (self.reset, self.percent):
            set_tone(label, MUTED)
        bottom.addWidget(self.reset, 1)
        bottom.addWidget(self.percent)
        layout.addLayout(bottom)
        self.pace = _small(wrapped_label(WARNING))
        self.pace.setVisible(False)
        layout.addWidget(self.pace)
        self.meter: Meter | None = None

    def set_meter(self, meter: Meter, thresholds: Thresholds, now: datetime, dim: bool) -> None:
        self.meter = meter
        self.title.setText(meter_title(meter))
        self.value.setText(meter_value_text(meter))
        countdown = freshness_text(meter) or reset_phrase(meter.resets_at, now, meter.approximate_reset)
        self.reset.setText((countdown[0].upper() + countdown[1:]) if countdown else "")
        percent = meter.percent_left
        self.percent.setText(tr("{percent} left").format(percent=percent_text(percent)) if percent is not None else "")
        severity = meter_severity(meter, thresholds)
        level = STALE if dim else NONE if severity is None else severity.word
        self.bar.set_value(meter.fraction_left, level)
        self.bar.setVisible(meter.capped)
        self.reset.setVisible(bool(countdown) or percent is not None)
        self.percent.setVisible(percent is not None)

    def set_pace(self, pace: Pace | None, now: datetime) -> None:
        forecast = pace_text(pace, now) if pace is not None else None
        self.pace.setVisible(forecast is not None)
        if pace is None or forecast is None:
            self.pace.clear()
            return
        self.pace.setText(tr("Estimate: {forecast}").format(forecast=forecast))
        self.pace.setToolTip(basis_text(pace))


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
        head.setSpacing(6)
        self.dot = StatusDot()
        self.title = ElidedLabel(account_id)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.08)
        self.title.setFont(font)
        self.state = QLabel()
        self.state.setTextFormat(Qt.TextFormat.PlainText)
        self.state.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        head.addWidget(self.dot, 0, Qt.AlignmentFlag.AlignVCenter)
        head.addWidget(self.title, 1)
        head.addWidget(self.state)
        layout.addLayout(head)
        self.subtitle = ElidedLabel(tr("not fetched yet"))
        set_tone(self.subtitle, MUTED)
        layout.addWidget(self.subtitle)
        self.streams = QLabel()
        self.streams.setVisible(False)
        layout.addWidget(self.streams)
        # Held by traywidget (Kill with a hold, a guard rail), and today's traffic through the gateway.
        self.held = wrapped_label(ERROR)
        self.held.setVisible(False)
        layout.addWidget(self.held)
        self.gateway_usage = wrapped_label(MUTED)
        self.gateway_usage.setVisible(False)
        layout.addWidget(self.gateway_usage)
        self.error = wrapped_label(ERROR)
        self.error.setVisible(False)
        layout.addWidget(self.error)
        self.notes = wrapped_label(MUTED)
        self.notes.setVisible(False)
        layout.addWidget(self.notes)
        self.meters_box = QVBoxLayout()
        self.meters_box.setSpacing(4)
        layout.addLayout(self.meters_box)
        self.rows: list[MeterRow] = []
        self.spark_title = ElidedLabel()
        set_tone(self.spark_title, MUTED)
        self.spark_title.setVisible(False)
        layout.addWidget(self.spark_title)
        self.sparkline = Sparkline()
        self.sparkline.setVisible(False)
        layout.addWidget(self.sparkline)
        self.snapshot: Snapshot | None = None
        self.paces: dict[str, Pace | None] = {}
        self.spark_meter: str | None = None
        self.spark_loaded_at = 0.0

    def retranslate(self, thresholds: Thresholds, now: datetime) -> None:
        self.sparkline.setToolTip(tr("Remaining over the last 24 hours"))
        if self.snapshot is None:
            self.subtitle.setText(tr("not fetched yet"))
        else:
            self.set_snapshot(self.snapshot, thresholds, now)

    def set_snapshot(self, snapshot: Snapshot, thresholds: Thresholds, now: datetime) -> None:
        self.snapshot = snapshot
        self.title.setText(snapshot.label)
        self.state.setText(state_word(snapshot))
        # The account's severity (present/severity.py), grey while the values are cached and unconfirmed.
        self.dot.set_color(LEVEL_COLORS[STALE][0] if snapshot.stale else SEVERITY_COLORS[severity_of(snapshot)])
        self.dot.setToolTip(self.state.text())
        streams = snapshot.streams or 0
        self.streams.setText(trn("{n} stream running", "{n} streams running", streams).format(n=streams))
        self.streams.setVisible(streams > 0)
        if snapshot.hold is not None:
            self.held.setText(tr("{held}. Resume with \"Resume requests\" in the tray menu or: traywidget resume").format(
                held=held_text(snapshot.hold)))
        self.held.setVisible(snapshot.hold is not None)
        usage = snapshot.gateway_usage
        if usage is not None and usage.total.requests:
            self.gateway_usage.setText(gateway_usage_text(usage))
        self.gateway_usage.setVisible(usage is not None and usage.total.requests > 0)
        self.notes.setText("\n".join(tr(note) for note in snapshot.notes))
        self.notes.setVisible(bool(snapshot.notes))
        while len(self.rows) < len(snapshot.meters):
            row = MeterRow()
            self.rows.append(row)
            self.meters_box.addWidget(row)
            apply_tones(self)
        while len(self.rows) > len(snapshot.meters):
            row = self.rows.pop()
            row.setParent(None)
            row.deleteLater()
        self.tick(thresholds, now)
        bound = binding_meter([snapshot])
        self.spark_meter = bound[1].name if bound else None

    def tick(self, thresholds: Thresholds, now: datetime) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            return
        # The provider and plan, unless the label already says them ("routing.run · Premium").
        label = snapshot.label.lower()
        parts = [tr(part) for part in (display_name(snapshot.provider), snapshot.plan)
                 if part and part.lower() not in label]
        parts.append(self._freshness(snapshot, now))
        self.subtitle.setText(" · ".join(parts))
        problem = self._problem(snapshot, now)
        self.error.setText(problem or "")
        self.error.setVisible(problem is not None)
        dim = snapshot.stale or snapshot.state.is_transient or snapshot.state.needs_user
        for row, meter in zip(self.rows, snapshot.meters):
            row.set_meter(meter, thresholds, now, dim)
            row.set_pace(self.paces.get(meter.name), now)

    def _freshness(self, snapshot: Snapshot, now: datetime) -> str:
        """How old the numbers are and where they came from: the one age the menu and `status` say too."""
        return age_text(snapshot, now)

    def _problem(self, snapshot: Snapshot, now: datetime) -> str | None:
        error = error_text(snapshot)
        if snapshot.state.is_fine or (error is None and not snapshot.state.is_poll_failure):
            return None
        if snapshot.stale:
            return tr("Last known problem: {error}").format(error=error or state_text(snapshot.state))
        if snapshot.state is State.RATE_LIMITED:  # until when it holds, or when it was seen
            limited = account_state_text(snapshot)
            return tr("{state}: {message}").format(state=limited, message=error) if error else limited
        if snapshot.state.is_poll_failure and snapshot.fetched_at is not None:
            ago = ago_text(snapshot.fetched_at, now)
            if error:
                return tr("The last attempt failed {ago}: {error}").format(ago=ago, error=error)
            return tr("The last attempt failed {ago}").format(ago=ago)
        return error

    def load_history(self, source: HistorySource | None, end: float, now: datetime) -> None:
        """The sparkline and the pace forecasts, from the local history."""
        self.spark_loaded_at = end
        snapshot = self.snapshot
        show = source is not None and self.spark_meter is not None and snapshot is not None
        self.spark_title.setVisible(show)
        self.sparkline.setVisible(show)
        self.paces = {}
        if not show or source is None or snapshot is None:
            return
        if snapshot.state.is_quota_reading and not snapshot.stale:
            read_at = snapshot.fetched_at or now
            # A window refilled by its reset is an estimate: no forecast is made from it.
            self.paces = {m.name: estimate_from(source, snapshot, m, read_at) for m in snapshot.meters
                          if m.freshness is Freshness.CURRENT}
        for row, meter in zip(self.rows, snapshot.meters):
            row.set_pace(self.paces.get(meter.name), now)
        meter = snapshot.meter(self.spark_meter)  # type: ignore[arg-type]
        points = source(snapshot.account_id, self.spark_meter, end - SPARK_WINDOW_S)  # type: ignore[arg-type]
        title = meter_title(meter) if meter else self.spark_meter
        self.spark_title.setText(tr("{meter} — last 24 hours").format(meter=title))
        self.sparkline.set_series(points, meter.limit if meter else None, end)


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
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(self._cards_host)
        outer.addWidget(self.scroll, 1)

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
        layout.activate()
        chrome = layout.sizeHint().height() - self.scroll.sizeHint().height()
        content = self._cards_host.sizeHint().height() + 2
        minimum = self.minimumSizeHint()
        width = max(PREFERRED_WIDTH, minimum.width())
        height = max(minimum.height(), min(MAX_PREFERRED_HEIGHT, chrome + content))
        return QSize(width, height)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape and not self.main_window:
            self.close()
            return
        super().keyPressEvent(event)

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            apply_tones(self)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.tick()
        self.load_history()
        self.timer.start()
        self.refit_timer.start(0)

    def hideEvent(self, event) -> None:  # noqa: N802
        super().hideEvent(event)
        self.timer.stop()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.timer.stop()
        self.closed.emit()
        super().closeEvent(event)
