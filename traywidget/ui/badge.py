"""The tray icon, drawn at run time: the headline meter's figure on a coloured pill.

`badge_spec()` decides *what* to show (pure); `render_badge()` paints one size
into a QImage; `badge_icon()` builds a QIcon with every tray size at 1x and 2x.
State → look lives in tables (`LEVEL_COLORS`, `MARK_COLORS`, `ACCOUNT_BANDS`).

What a glance reads:
- the figure, with a small letter for its window (m / h / d) where it fits
  (20 px and up); money carries its own "$";
- the pill's colour: the headline window's severity (present/severity.py): green
  fine, amber low, red refused (used up); grey not current (cached, offline,
  paused), slate "fine here, but something is wrong elsewhere";
- a corner dot with "!" from the worst account's severity: red for refused (an
  exhausted window, a 429) and action (no key, a rejected key, a payment),
  amber for failing (offline, a server error); a blue pause sign while an
  account is held (Kill all streams' hold, a guard rail);
- one icon per account: a band in the account's own colour along the bottom.

Readability on light and dark panels: saturated fills with a darker rim, white
(or, on amber, near-black) text. On macOS the icon is a template (mask) image:
a black pill with the text knocked out, which the menu bar tints.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable
from dataclasses import dataclass, replace

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

from traywidget.model import Snapshot, Thresholds
from traywidget.present.headline import Headline, window_cue
from traywidget.present.severity import Severity, meter_severity, worst
from traywidget.present.text import badge_text

ICON_SIZES = (16, 22, 24, 32, 48, 64)
PIXEL_RATIOS = (1.0, 2.0)
# Below this many logical pixels the window letter would crowd the figure out.
CUE_MIN_SIZE = 20

# The pill's looks: the headline window's severity (present/severity.py), or why it is not coloured by it.
FINE, LOW, REFUSED = Severity.FINE.word, Severity.LOW.word, Severity.REFUSED.word
STALE = "stale"  # numbers that are not current (cached, the account failing, polling paused)
ELSEWHERE = "elsewhere"  # fine here, trouble elsewhere: the pill must not say "fine"
NONE = "none"  # no figure

# look -> (fill, text)
LEVEL_COLORS: dict[str, tuple[str, str]] = {
    FINE: ("#1f9d55", "#ffffff"),
    LOW: ("#f2a900", "#1b1300"),
    REFUSED: ("#d93025", "#ffffff"),
    STALE: ("#7b838c", "#ffffff"),
    ELSEWHERE: ("#3d4752", "#ffffff"),
    NONE: ("#7b838c", "#ffffff"),
}

# The leading signs of a money figure ("$4.2", "¥4.2", "€4.2").
MONEY_SIGNS = frozenset("$¥€£")
MARK_ALERT = "alert"  # requests are refused somewhere, or wait for you: severity refused or action
MARK_WARN = "warn"  # an account is failing: offline, a server error
MARK_HELD = "held"  # traywidget holds an account's requests through the gateway (a pause sign)
# mark -> (dot, glyph)
MARK_COLORS: dict[str, tuple[str, str]] = {
    MARK_ALERT: ("#e0261b", "#ffffff"),
    MARK_WARN: ("#ffb300", "#1b1300"),
    MARK_HELD: ("#1d4ed8", "#ffffff"),
}

# One colour per severity: the panel's dots and every place a level is shown as a colour.
SEVERITY_COLORS: dict[Severity, str] = {
    Severity.FINE: LEVEL_COLORS[FINE][0],
    Severity.LOW: LEVEL_COLORS[LOW][0],
    Severity.FAILING: MARK_COLORS[MARK_WARN][0],
    Severity.REFUSED: LEVEL_COLORS[REFUSED][0],
    Severity.ACTION: MARK_COLORS[MARK_ALERT][0],
}
# The corner mark a severity raises ("" for none).
SEVERITY_MARKS: dict[Severity, str] = {
    Severity.FINE: "",
    Severity.LOW: "",
    Severity.FAILING: MARK_WARN,
    Severity.REFUSED: MARK_ALERT,
    Severity.ACTION: MARK_ALERT,
}
MARK_RING = "#ffffff"

# One icon per account: a colour of the account's own along the bottom of the pill, by its place in the
# accounts' order, so that three accounts of one provider are told apart at a glance (the tooltip names each).
# None is a level's colour (green, amber, red, grey): a band never reads as "fine" or "used up".
ACCOUNT_BANDS = ("#2f6fed", "#e879f9", "#06b6d4", "#a3e635", "#8b5cf6", "#f8fafc")


@dataclass(frozen=True)
class BadgeSpec:
    text: str
    level: str
    cue: str = ""  # the window: "m", "h", "d"; "" when the text says it ($) or it is unknown
    mark: str = ""  # "", MARK_ALERT, MARK_HELD or MARK_WARN
    band: str = ""  # the account's colour (one icon per account); "" for the combined icon


NO_DATA = BadgeSpec(text="…", level=NONE)
NO_ACCOUNTS = BadgeSpec(text="+", level=NONE)


def trouble_mark(snapshots: Iterable[Snapshot]) -> str:
    """The corner mark for these accounts: their worst severity's, or the pause sign while one is held
    (the user's own decision: it says so unless requests are refused or wait for them elsewhere).
    Cached values (not confirmed by a poll yet) raise none."""
    snapshots = list(snapshots)
    level = worst(s for s in snapshots if not s.stale)
    mark = "" if level is None else SEVERITY_MARKS[level]
    if mark != MARK_ALERT and any(s.hold is not None for s in snapshots):
        return MARK_HELD
    return mark


def account_band(position: int) -> str:
    """The band of the account at `position` in the accounts' order (the colours repeat after six)."""
    return ACCOUNT_BANDS[position % len(ACCOUNT_BANDS)]


@functools.lru_cache(maxsize=16)
def band_swatch(colour: str) -> QIcon:
    """A small square of an account's band colour, for its line in the menu (which icon is which)."""
    icon = QIcon()
    for size in (16, 32):
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(_pen(QColor(colour).darker(160), size / 16))
        painter.setBrush(QColor(colour))
        painter.drawRoundedRect(QRectF(size * 0.15, size * 0.15, size * 0.7, size * 0.7), size * 0.15, size * 0.15)
        painter.end()
        icon.addPixmap(QPixmap.fromImage(image))
    return icon


def badge_spec(
    snapshots: Iterable[Snapshot],
    headline: Headline | None,
    thresholds: Thresholds = Thresholds(),
    *,
    paused: bool = False,
    band: str = "",
) -> BadgeSpec:
    """What the icon shows for these accounts, with `headline` (present.headline) as its figure."""
    snapshots = list(snapshots)
    if not snapshots:
        return replace(NO_ACCOUNTS, band=band)
    mark = trouble_mark(snapshots)
    if headline is None:
        fetched = any(s.fetched_at is not None or s.stale for s in snapshots)
        return BadgeSpec(text="?" if fetched else "…", level=NONE, mark=mark, band=band)
    meter, snapshot = headline.meter, headline.snapshot
    severity = meter_severity(meter, thresholds)
    level = NONE if severity is None else severity.word
    if paused or snapshot.stale or not snapshot.state.key_accepted:
        level = STALE  # numbers that are not current are never coloured as if they were
    elif level == FINE and mark:
        level = ELSEWHERE
    return BadgeSpec(text=badge_text(meter), level=level, cue=window_cue(meter), mark=mark, band=band)


# ------------------------------------------------------------------ drawing
def fit_text(text: str, size: int) -> str:
    """Below 20 px four characters are unreadable: "1.2K" -> "1K", "$4.2" -> "$4", "$.42" -> "$.4"."""
    if size >= 20 or len(text) <= 3:
        return text
    if len(text) == 4 and text[1] == "." and text[-1].isalpha():
        return text[0] + text[-1]
    if text[:1] in MONEY_SIGNS and "." in text:
        return text[:3].rstrip(".")
    return text


def _fit_font(text: str, width: float, cap_height: float, tail: int = 0) -> QFont:
    """The largest bold font whose `text` fits `width` with at most `cap_height` capitals
    (its last `tail` characters, the window letter, drawn smaller)."""
    return QFont(_fitted(text, round(width, 2), round(cap_height, 2), tail))


@functools.lru_cache(maxsize=512)
def _fitted(text: str, width: float, cap_height: float, tail: int) -> QFont:
    # Each badge change renders 12 images with the same few text boxes: fit each box once.
    font = QFont("DejaVu Sans")
    font.setBold(True)
    font.setHintingPreference(QFont.HintingPreference.PreferFullHinting)
    if len(text) - tail >= 3:
        font.setStretch(QFont.Stretch.Condensed)
    # Metrics grow in proportion to the size: start from the size that would fit, then step down
    # while hinting still makes it a little too large.
    font.setPixelSize(100)
    cap_ref, advance_ref = QFontMetricsF(font).capHeight(), _advance(font, text, tail)
    size = min(cap_height / cap_ref, width / advance_ref if advance_ref else 1.0) * 100
    size = max(5, int(size) + 2)
    while size > 5:
        font.setPixelSize(size)
        if _advance(font, text, tail) <= width and QFontMetricsF(font).capHeight() <= cap_height:
            break
        size -= 1
    font.setPixelSize(size)
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


def _snap(value: float, dpr: float) -> float:
    """To the device pixel grid: crisp edges at 16-24 px."""
    return round(value * dpr) / dpr


def pill_rect(s: float, dpr: float = 1.0) -> QRectF:
    margin = max(1.0 / dpr, _snap(s * 0.03, dpr))
    return QRectF(margin, margin, s - 2 * margin, s - 2 * margin)


def band_rect(s: float, dpr: float = 1.0) -> QRectF:
    """The provider band along the bottom of the pill, in logical pixels."""
    pill = pill_rect(s, dpr)
    height = max(2.0 / dpr, _snap(s * 0.16, dpr))
    return QRectF(pill.left(), pill.bottom() - height, pill.width(), height)


def mark_rect(s: float, dpr: float = 1.0) -> QRectF:
    """Where the trouble mark sits (the top-right corner), in logical pixels."""
    d = _snap(max(7.0, s * 0.45), dpr)
    return QRectF(s - d, 0.0, d, d)


def _paint(p: QPainter, spec: BadgeSpec, s: float, dpr: float, template: bool) -> None:
    fill, ink = LEVEL_COLORS.get(spec.level, LEVEL_COLORS[NONE])
    rect = pill_rect(s, dpr)
    radius = s * 0.22
    pill = QPainterPath()
    pill.addRoundedRect(rect, radius, radius)
    if template:
        p.fillPath(pill, QColor(0, 0, 0, 255))
    else:
        base = QColor(fill)
        p.fillPath(pill, base)
        if spec.band:
            p.save()
            p.setClipPath(pill)
            p.fillRect(band_rect(s, dpr), QColor(spec.band))
            p.restore()
        # A darker rim so the pill reads on light panels.
        rim = max(1.0 / dpr, s / 40.0)
        p.setPen(_pen(base.darker(160), rim))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(rect.adjusted(rim / 2, rim / 2, -rim / 2, -rim / 2), radius, radius)

    area = rect.adjusted(s * 0.06, s * 0.04, -s * 0.06, -s * 0.04)
    if spec.band:
        area.setBottom(band_rect(s, dpr).top())
    text = fit_text(spec.text, int(s))
    cue = spec.cue if s >= CUE_MIN_SIZE else ""
    if spec.mark:
        # The text keeps clear of the mark: below it or left of it, whichever leaves it larger.
        mark = mark_rect(s, dpr)
        below = QRectF(area)
        below.setTop(mark.bottom() - mark.height() * 0.12)
        beside = QRectF(area)
        beside.setRight(mark.left() + mark.width() * 0.12)
        layout = max((_layout(text, cue, below, s), _layout(text, cue, beside, s)), key=lambda lay: lay.cap)
    else:
        layout = _layout(text, cue, area, s)
    _paint_text(p, layout, dpr, ink, template)
    if spec.mark:
        _paint_mark(p, spec.mark, s, dpr, template)


def _pen(color: QColor, width: float) -> QPen:
    pen = QPen(color, width)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


@dataclass(frozen=True)
class _Layout:
    text: str
    font: QFont
    cue: str
    cue_font: QFont | None
    area: QRectF

    @property
    def cap(self) -> float:
        return QFontMetricsF(self.font).capHeight()


# The window letter is this much of the figure's size: clearly secondary, still legible.
CUE_SCALE = 0.85


def _min_figure_cap(s: float) -> float:
    """The smallest figure (cap height, logical px) the window letter may shrink it to at size `s`."""
    return max(6.0, min(s * 0.25, 9.0))


def _layout(text: str, cue: str, area: QRectF, s: float) -> _Layout:
    cap = min(area.height() * 0.8, s * 0.46)
    alone = _fit_font(text, area.width(), cap)
    if not cue:
        return _Layout(text, alone, "", None, area)
    with_cue = _fit_font(text + cue, area.width(), cap, tail=len(cue))
    if QFontMetricsF(with_cue).capHeight() < _min_figure_cap(s):
        return _Layout(text, alone, "", None, area)
    return _Layout(text, with_cue, cue, _cue_font(with_cue), area)


def _cue_font(font: QFont) -> QFont:
    cue_font = QFont(font)
    cue_font.setStretch(QFont.Stretch.Unstretched)
    cue_font.setPixelSize(max(5, int(round(font.pixelSize() * CUE_SCALE))))
    return cue_font


def _advance(font: QFont, text: str, tail: int) -> float:
    """The width of `text` in `font`, its last `tail` characters (the cue) at the cue's size."""
    if not tail:
        return QFontMetricsF(font).horizontalAdvance(text)
    head, cue = text[:-tail], text[-tail:]
    return QFontMetricsF(font).horizontalAdvance(head) + QFontMetricsF(_cue_font(font)).horizontalAdvance(cue)


def _paint_text(p: QPainter, layout: _Layout, dpr: float, ink: str, template: bool) -> None:
    font, area, text = layout.font, layout.area, layout.text
    metrics = QFontMetricsF(font)
    path = QPainterPath()
    path.addText(QPointF(0, 0), font, text)
    box = path.boundingRect()
    cue_path = QPainterPath()
    if layout.cue_font is not None:
        cue_path.addText(QPointF(0, 0), layout.cue_font, layout.cue)
    cue_box = cue_path.boundingRect()
    gap = metrics.capHeight() * 0.08 if layout.cue else 0.0
    width = box.width() + (gap + cue_box.right() if layout.cue else 0.0)
    if text in ("…", "?", "!", "+") or not box.isValid():
        baseline = area.center().y() - box.center().y()
    else:
        # Digits: centre on the cap height so "1.2K" and "420" share a baseline.
        baseline = area.center().y() + metrics.capHeight() / 2
    dx = _snap(area.center().x() - width / 2 - box.left(), dpr)
    baseline = _snap(baseline, dpr)
    path.translate(dx, baseline)
    cue_path.translate(_snap(dx + box.right() + gap, dpr), baseline)
    for text_path in (path, cue_path):
        if template:
            p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
            p.fillPath(text_path, QColor(0, 0, 0, 255))
            p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        else:
            p.fillPath(text_path, QColor(ink))


def _paint_mark(p: QPainter, mark: str, s: float, dpr: float, template: bool) -> None:
    r = mark_rect(s, dpr)
    ring = max(1.0 / dpr, s / 24.0)
    dot_color, glyph_color = MARK_COLORS[mark]
    disc = QPainterPath()
    disc.addEllipse(r)
    inner = QPainterPath()
    inner.addEllipse(r.adjusted(ring, ring, -ring, -ring))
    # "!" drawn as shapes on the pixel grid, not a font: crisp down to a 7-px dot.
    bar_w = max(1.0 / dpr, _snap(r.width() * 0.17, dpr))
    left = _snap(r.center().x() - bar_w / 2, dpr)
    bar_top, bar_bottom = _snap(r.top() + r.height() * 0.18, dpr), _snap(r.top() + r.height() * 0.56, dpr)
    point_top = _snap(r.top() + r.height() * 0.68, dpr)
    glyph = QPainterPath()
    if mark == MARK_HELD:  # "‖": two bars, a pause
        gap = max(1.0 / dpr, _snap(r.width() * 0.14, dpr))
        top, bottom = _snap(r.top() + r.height() * 0.27, dpr), _snap(r.top() + r.height() * 0.73, dpr)
        glyph.addRect(QRectF(_snap(left - gap / 2 - bar_w / 2, dpr), top, bar_w, bottom - top))
        glyph.addRect(QRectF(_snap(left + gap / 2 + bar_w / 2, dpr), top, bar_w, bottom - top))
    else:
        glyph.addRect(QRectF(left, bar_top, bar_w, bar_bottom - bar_top))
        glyph.addRect(QRectF(left, point_top, bar_w, max(bar_w, 1.0 / dpr)))
    if template:
        # Menu-bar template: a ring cut out around a solid dot, the "!" cut out of it.
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
        p.fillPath(disc, QColor(0, 0, 0))
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        p.fillPath(inner, QColor(0, 0, 0))
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
        p.fillPath(glyph, QColor(0, 0, 0))
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        return
    p.fillPath(disc, QColor(MARK_RING))
    p.fillPath(inner, QColor(dot_color))
    p.fillPath(glyph, QColor(glyph_color))


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
