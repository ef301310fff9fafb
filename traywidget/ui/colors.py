"""Colours derived from the widget's palette, so text stays readable in light and dark themes.

Fixed colours (the badge's red, amber and green) are tuned for a white
background; on a dark window they fall below a readable contrast. Every
coloured text of the panel and the dialogs goes through `tone_color()`,
which starts from the palette and nudges a colour until it reaches the WCAG
contrast ratio for normal text (4.5:1) against the window background.

A label is given a tone once (`set_tone(label, MUTED)`); `apply_tones(root)`
colours every toned widget under `root` from root's palette, and is called
again when the palette changes (a theme switch at run time).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QWidget

from traywidget.present.severity import Severity
from traywidget.ui.badge import SEVERITY_COLORS

TEXT_CONTRAST = 4.5  # WCAG 2 AA, normal text
GRAPHIC_CONTRAST = 3.0  # WCAG 2.1 non-text contrast (lines that carry meaning)

# Tones a widget's text can take.
NORMAL, MUTED, ERROR, WARNING, GOOD = "normal", "muted", "error", "warning", "good"
_TONE_PROPERTY = "traywidgetTone"


def luminance(color: QColor) -> float:
    """WCAG relative luminance of an sRGB colour, 0 (black) to 1 (white)."""

    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF()) + 0.0722 * channel(color.blueF())


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio, 1 (none) to 21 (black on white)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def mix(a: QColor, b: QColor, share_of_b: float) -> QColor:
    t = max(0.0, min(1.0, share_of_b))
    return QColor.fromRgbF(
        a.redF() + (b.redF() - a.redF()) * t,
        a.greenF() + (b.greenF() - a.greenF()) * t,
        a.blueF() + (b.blueF() - a.blueF()) * t,
    )


def readable(color: QColor, background: QColor, minimum: float = TEXT_CONTRAST) -> QColor:
    """`color`, moved toward black or white (whichever the background allows) just far enough."""
    if contrast(color, background) >= minimum:
        return QColor(color)
    target = QColor("#000000") if luminance(background) > 0.18 else QColor("#ffffff")
    for step in range(1, 21):
        candidate = mix(color, target, step / 20)
        if contrast(candidate, background) >= minimum:
            return candidate
    return target


def is_dark(palette: QPalette) -> bool:
    return luminance(palette.color(QPalette.ColorRole.Window)) < 0.18


def tone_color(palette: QPalette, tone: str) -> QColor:
    background = palette.color(QPalette.ColorRole.Window)
    text = palette.color(QPalette.ColorRole.WindowText)
    if tone == MUTED:
        # Softer than the text, never softer than readable.
        return readable(mix(text, background, 0.35), background, TEXT_CONTRAST + 0.5)
    if tone == ERROR:
        return readable(QColor(SEVERITY_COLORS[Severity.REFUSED]), background, TEXT_CONTRAST + 0.3)
    if tone == WARNING:
        return readable(QColor(SEVERITY_COLORS[Severity.LOW]), background, TEXT_CONTRAST + 0.3)
    if tone == GOOD:
        return readable(QColor(SEVERITY_COLORS[Severity.FINE]), background, TEXT_CONTRAST + 0.3)
    return text


def track_color(palette: QPalette) -> QColor:
    """The empty part of a bar: visibly different from the window, quieter than any fill."""
    return mix(palette.color(QPalette.ColorRole.Window), palette.color(QPalette.ColorRole.WindowText), 0.25)


def grid_color(palette: QPalette) -> QColor:
    return mix(palette.color(QPalette.ColorRole.Window), palette.color(QPalette.ColorRole.WindowText), 0.3)


def line_color(palette: QPalette) -> QColor:
    """The sparkline: the theme's accent, made to stand out from the window."""
    background = palette.color(QPalette.ColorRole.Window)
    return readable(palette.color(QPalette.ColorRole.Highlight), background, GRAPHIC_CONTRAST)


def set_tone(widget: QWidget, tone: str) -> None:
    widget.setProperty(_TONE_PROPERTY, tone)
    parent = widget.parentWidget()
    _apply(widget, parent.palette() if parent is not None else widget.palette())


def apply_tones(root: QWidget) -> None:
    """Colour every toned widget under `root` from root's palette (after a palette change)."""
    palette = root.palette()
    for widget in root.findChildren(QWidget):
        if widget.property(_TONE_PROPERTY):
            _apply(widget, palette)


def _apply(widget: QWidget, source: QPalette) -> None:
    tone = widget.property(_TONE_PROPERTY)
    if not tone:
        return
    palette = widget.palette()
    palette.setColor(QPalette.ColorRole.WindowText, tone_color(source, tone))
    widget.setPalette(palette)


def wrapped_label(tone: str | None = None, hidden: bool = False) -> QLabel:
    """A plain-text label that wraps (messages, notes), in a tone when one is given."""
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    if tone is not None:
        set_tone(label, tone)
    label.setVisible(not hidden)
    return label
