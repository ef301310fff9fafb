"""The panel's small painted widgets: a label that shortens with "…", a status dot, a meter bar and a
last-24-hours sparkline. Each draws from the palette, so light and dark themes follow."""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QLabel,
    QSizePolicy,
    QWidget,
)

from traywidget.i18n import tr
from traywidget.ui.badge import LEVEL_COLORS, NONE, STALE
from traywidget.ui.colors import (
    MUTED,
    grid_color,
    line_color,
    tone_color,
    track_color,
)

SPARK_WINDOW_S = 24 * 3600.0
# Space kept free between the panel and the screen's edges or the tray icon.


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

    def setText(self, text: str) -> None:
        if text == self._full and self.text():
            return
        self._full = text
        self.updateGeometry()
        self._elide()

    def sizeHint(self) -> QSize:
        margins = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance(self._full) + margins.left() + margins.right() + 2
        return QSize(width, self.fontMetrics().height() + margins.top() + margins.bottom())

    def minimumSizeHint(self) -> QSize:
        margins = self.contentsMargins()
        shortest = self.fontMetrics().horizontalAdvance(self._full[:2] + "…") + margins.left() + margins.right() + 2
        return QSize(min(shortest, self.sizeHint().width()), self.sizeHint().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event) -> None:
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

    def paintEvent(self, event) -> None:
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

    def sizeHint(self) -> QSize:
        return QSize(200, 8)

    def minimumSizeHint(self) -> QSize:
        return QSize(40, 8)

    def set_value(self, fraction: float | None, level: str) -> None:
        if (fraction, level) != (self.fraction, self.level):
            self.fraction, self.level = fraction, level
            self.update()

    def paintEvent(self, event) -> None:
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

    def sizeHint(self) -> QSize:
        return QSize(200, 28)

    def minimumSizeHint(self) -> QSize:
        return QSize(40, 28)

    def set_series(self, points: Sequence[tuple[float, float]], ceiling: float | None, end: float) -> None:
        self.points = list(points)
        self.ceiling = ceiling
        self.window_end = end
        self.update()

    def paintEvent(self, event) -> None:
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
