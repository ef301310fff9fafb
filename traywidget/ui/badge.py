"""The tray icon, drawn at run time: the binding window's remaining count on a coloured pill.

`badge_spec()` decides *what* to show (pure); `render_badge()` paints one
size into a QImage; `badge_icon()` builds a QIcon with every tray size at 1x
and 2x. State → look lives in one table (`LEVEL_COLORS`), maestral-qt style.

Readability on light and dark panels: a saturated fill with a thin darker rim
and white (or, on amber, near-black) text. On macOS the icon is a template
(mask) image: a black pill with the text knocked out, which the menu bar tints.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from typing import Iterable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QIcon,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
)

from traywidget.model import Snapshot, State, Thresholds
from traywidget.ui import text as T

ICON_SIZES = (16, 22, 24, 32, 48, 64)
PIXEL_RATIOS = (1.0, 2.0)

# level -> (fill, text)
LEVEL_COLORS: dict[str, tuple[str, str]] = {
    T.OK: ("#1f9d55", "#ffffff"),
    T.LOW: ("#f2a900", "#1b1300"),
    T.EXHAUSTED: ("#d93025", "#ffffff"),
    T.STALE: ("#7b838c", "#ffffff"),
    T.ERROR: ("#7b838c", "#ffffff"),
    T.NONE: ("#7b838c", "#ffffff"),
}
MARK_COLOR = "#1b1f24"  # the rate-limited corner disc
ERROR_RING = "#d93025"  # auth / payment errors: grey pill, red rim



@dataclass(frozen=True)
class BadgeSpec:
    text: str
    level: str
    rate_limited: bool = False
    attention: bool = False  # key rejected / payment required / no key
    tooltip_hint: str = ""


NO_DATA = BadgeSpec(text="…", level=T.NONE)


def badge_spec(
    snapshots: Iterable[Snapshot],
    pinned: str | None = None,
    thresholds: Thresholds = Thresholds(),
    polling_failed: bool = False,
) -> BadgeSpec:
    snapshots = list(snapshots)
    if not snapshots:
        return NO_DATA
    rate_limited = any(s.state is State.RATE_LIMITED for s in snapshots)
    bound = T.binding_meter(snapshots, pinned)
    if bound is None:
        attention = any(s.state.needs_user for s in snapshots)
        return BadgeSpec(text="!" if attention else "?",
                         level=T.ERROR if attention else T.NONE,
                         rate_limited=rate_limited, attention=attention)
    snapshot, meter = bound
    text = T.badge_text(meter)
    level = T.meter_level(meter, thresholds)
    if snapshot.state is State.EXHAUSTED and level != T.NONE:
        level = T.EXHAUSTED
    attention = snapshot.state.needs_user
    if snapshot.stale or polling_failed or snapshot.state.is_transient or attention:
        level = T.STALE
    return BadgeSpec(
        text=text,
        level=level,
        rate_limited=rate_limited or snapshot.state is State.RATE_LIMITED,
        attention=attention,
        tooltip_hint=f"{snapshot.label}: {meter.title}",
    )


# ------------------------------------------------------------------ drawing
def fit_text(text: str, size: int) -> str:
    """Below 20 px four characters are unreadable: "$4.2" -> "4.2", "1.2k" -> "1k"."""
    if size >= 20 or len(text) <= 3:
        return text
    if text.startswith("$"):
        return text[1:]
    if len(text) == 4 and text[1] == "." and text[-1].isalpha():
        return text[0] + text[-1]
    return text


def _fit_font(text: str, width: float, height: float) -> QFont:
    font = QFont("DejaVu Sans")
    font.setBold(True)
    font.setHintingPreference(QFont.HintingPreference.PreferFullHinting)
    size = max(5.0, height * 0.9)
    condensed = len(text) >= 3
    if condensed:
        font.setStretch(QFont.Stretch.Condensed)
    while size > 5.0:
        font.setPixelSize(int(size))
        metrics = QFontMetricsF(font)
        if metrics.horizontalAdvance(text) <= width and metrics.capHeight() <= height * 0.56:
            break
        size -= 0.5
    font.setPixelSize(max(5, int(size)))
    return font


def render_badge(spec: BadgeSpec, size: int, dpr: float = 1.0, template: bool = False) -> QImage:
    """One icon image: `size` logical pixels, `size*dpr` device pixels."""
    px = max(1, round(size * dpr))
    image = QImage(px, px, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    image.setDevicePixelRatio(dpr)
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        _paint(painter, spec, float(size), dpr, template)
    finally:
        painter.end()
    return image


def _paint(p: QPainter, spec: BadgeSpec, s: float, dpr: float, template: bool) -> None:
    fill, ink = LEVEL_COLORS.get(spec.level, LEVEL_COLORS[T.NONE])
    hair = 1.0 / dpr  # one device pixel
    margin = max(hair, round(s * 0.03 * dpr) / dpr)
    rect = QRectF(margin, margin, s - 2 * margin, s - 2 * margin)
    radius = s * 0.22

    # Pill: fill + a darker rim so it reads on light panels; a light inner
    # hairline keeps the edge visible on dark panels.
    pill = QPainterPath()
    pill.addRoundedRect(rect, radius, radius)
    if template:
        p.fillPath(pill, QColor(0, 0, 0, 255))
    else:
        base = QColor(fill)
        p.fillPath(pill, base)
        rim = QColor(ERROR_RING) if spec.attention else base.darker(160)
        pen = QPen(rim, max(hair, s / 24.0) if spec.attention else max(hair, s / 40.0))
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        p.setPen(pen)
        inset = pen.widthF() / 2
        p.drawRoundedRect(rect.adjusted(inset, inset, -inset, -inset), radius, radius)

    spec = replace(spec, text=fit_text(spec.text, int(s)))
    # Text: as large as fits; when the rate-limited mark takes the top-right
    # corner, the text keeps to the lower-left of the pill.
    pad = s * 0.05
    text_rect = rect.adjusted(pad, pad * 0.5, -pad, -pad * 0.5)
    if spec.rate_limited:
        m = mark_rect(s)
        text_rect = text_rect.adjusted(0, m.height() * 0.42, -m.width() * 0.18, 0)
    font = _fit_font(spec.text, text_rect.width(), text_rect.height())
    path = QPainterPath()
    path.addText(QPointF(0, 0), font, spec.text)
    box = path.boundingRect()
    if spec.text in ("…", "?", "!") or not box.isValid():
        dy = text_rect.center().y() - box.center().y()
    else:
        # digits: centre on cap height so "1.2k" and "420" share a baseline
        metrics = QFontMetricsF(font)
        dy = text_rect.center().y() + metrics.capHeight() / 2
    dx = text_rect.center().x() - box.center().x()
    # Snap to the device pixel grid: crisper digits at 16-24 px.
    dx = round(dx * dpr) / dpr
    dy = round(dy * dpr) / dpr
    path.translate(dx, dy)
    if template:
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
        p.fillPath(path, QColor(0, 0, 0, 255))
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
    else:
        p.setFont(font)
        p.setPen(QColor(ink))
        p.drawText(QPointF(dx, dy), spec.text)

    if spec.rate_limited:
        _paint_pause_mark(p, s, dpr, template)


def mark_rect(s: float) -> QRectF:
    """Where the rate-limited mark sits (top-right corner), in logical pixels."""
    d = max(7.0, s * 0.42)
    return QRectF(s - d, 0.0, d, d)


def _paint_pause_mark(p: QPainter, s: float, dpr: float, template: bool) -> None:
    r = mark_rect(s)
    hair = 1.0 / dpr
    ring = max(hair, s / 32.0)
    disc = QPainterPath()
    disc.addEllipse(r.adjusted(ring / 2, ring / 2, -ring / 2, -ring / 2))
    bar_w = max(hair, r.width() * 0.16)
    bar_h = r.height() * 0.46
    cy = r.center().y()
    gap = max(hair, r.width() * 0.12)
    bars = QPainterPath()
    bars.addRect(QRectF(r.center().x() - gap / 2 - bar_w, cy - bar_h / 2, bar_w, bar_h))
    bars.addRect(QRectF(r.center().x() + gap / 2, cy - bar_h / 2, bar_w, bar_h))
    if template:
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
        p.fillPath(disc, QColor(0, 0, 0))
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        inner = QPainterPath()
        inner.addEllipse(r.adjusted(ring * 1.5, ring * 1.5, -ring * 1.5, -ring * 1.5))
        p.fillPath(inner, QColor(0, 0, 0))
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
        p.fillPath(bars, QColor(0, 0, 0))
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        return
    p.setPen(QPen(QColor("#ffffff"), ring))
    p.setBrush(QColor(MARK_COLOR))
    p.drawPath(disc)
    p.fillPath(bars, QColor("#ffffff"))


def is_template_platform() -> bool:
    return sys.platform == "darwin"


def badge_icon(spec: BadgeSpec, template: bool | None = None) -> QIcon:
    """A QIcon holding every tray size at 1x and 2x."""
    if template is None:
        template = is_template_platform()
    icon = QIcon()
    for size in ICON_SIZES:
        for dpr in PIXEL_RATIOS:
            pixmap = QPixmap.fromImage(render_badge(spec, size, dpr, template))
            pixmap.setDevicePixelRatio(dpr)
            icon.addPixmap(pixmap)
    if template:
        icon.setIsMask(True)
    return icon
