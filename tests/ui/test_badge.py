"""The tray badge, checked by rendering it and reading pixels."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QImage

from tests.ui.conftest import make_snapshot
from traywidget.model import State, Thresholds
from traywidget.ui import text as T
from traywidget.ui.badge import (
    ICON_SIZES,
    LEVEL_COLORS,
    MARK_COLOR,
    NO_DATA,
    BadgeSpec,
    badge_icon,
    badge_spec,
    mark_rect,
    render_badge,
)


def close(c: QColor, hex_color: str, tol: int = 40) -> bool:
    ref = QColor(hex_color)
    return abs(c.red() - ref.red()) + abs(c.green() - ref.green()) + abs(c.blue() - ref.blue()) <= tol


def pill_color(img: QImage) -> QColor:
    """The pill's fill: the most common opaque colour of the image."""
    from collections import Counter

    counts = Counter(
        img.pixel(x, y) for y in range(img.height()) for x in range(img.width())
        if img.pixelColor(x, y).alpha() == 255
    )
    return QColor.fromRgba(counts.most_common(1)[0][0])


def ink_pixels(img: QImage, ink: str) -> int:
    """Pixels nearer the text colour than the pill colour (antialiased text counts)."""
    fill = pill_color(img)
    ref = QColor(ink)

    def dist(a: QColor, b: QColor) -> int:
        return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())

    count = 0
    for y in range(img.height()):
        for x in range(img.width()):
            c = img.pixelColor(x, y)
            if c.alpha() == 255 and dist(c, ref) < dist(c, fill):
                count += 1
    return count


@pytest.mark.parametrize("size", ICON_SIZES)
@pytest.mark.parametrize("dpr", [1.0, 2.0])
@pytest.mark.parametrize("level", [T.OK, T.LOW, T.EXHAUSTED, T.STALE])
def test_pill_colour_and_text_present(qapp, size, dpr, level):
    img = render_badge(BadgeSpec("420", level), size, dpr)
    assert img.width() == round(size * dpr)
    fill, ink = LEVEL_COLORS[level]
    assert close(pill_color(img), fill), (pill_color(img).name(), fill)
    assert ink_pixels(img, ink) >= max(3, img.width() // 4), "no text drawn"
    # transparent corners: it is a pill, not a square
    assert img.pixelColor(0, 0).alpha() == 0


def test_compact_texts_fit_and_differ(qapp):
    a = render_badge(BadgeSpec("1.2k", T.OK), 22)
    b = render_badge(BadgeSpec("999", T.OK), 22)
    assert a != b
    for text in ("1.2k", "15k", "$4.2", "$12", "?", "…"):
        img = render_badge(BadgeSpec(text, T.OK), 16)
        assert ink_pixels(img, "#ffffff") > 6, text


def test_small_sizes_shorten_text():
    from traywidget.ui.badge import fit_text

    assert fit_text("$4.2", 16) == "4.2"
    assert fit_text("1.2k", 16) == "1k"
    assert fit_text("1.2k", 22) == "1.2k"
    assert fit_text("999", 16) == "999"


@pytest.mark.parametrize("size", [16, 22, 32, 64])
def test_rate_limited_mark(qapp, size):
    plain = render_badge(BadgeSpec("37", T.OK), size, 2.0)
    marked = render_badge(BadgeSpec("37", T.OK, rate_limited=True), size, 2.0)
    r = mark_rect(size)
    # inside the disc, just below the pause bars
    cx, cy = int(r.center().x() * 2), int((r.center().y() + r.height() * 0.34) * 2)
    assert close(marked.pixelColor(cx, cy), MARK_COLOR, 60)
    assert not close(plain.pixelColor(cx, cy), MARK_COLOR, 60)


def test_spec_levels_from_snapshots():
    th = Thresholds()
    assert badge_spec([], None, th) == NO_DATA
    assert badge_spec([make_snapshot(hour=(420, 500))]).level == T.OK
    assert badge_spec([make_snapshot(hour=(50, 500))]).level == T.LOW
    assert badge_spec([make_snapshot(hour=(0, 500), state=State.EXHAUSTED)]).level == T.EXHAUSTED
    stale = badge_spec([make_snapshot(hour=(420, 500), stale=True)])
    assert (stale.level, stale.text) == (T.STALE, "420")
    offline = badge_spec([make_snapshot(hour=(420, 500), state=State.OFFLINE)])
    assert offline.level == T.STALE
    rl = badge_spec([make_snapshot(hour=(0, 500), state=State.RATE_LIMITED)])
    assert rl.rate_limited and rl.level == T.EXHAUSTED
    auth = badge_spec([make_snapshot(hour=None, state=State.AUTH_ERROR)])
    assert (auth.text, auth.attention) == ("!", True)
    unknown = badge_spec([make_snapshot(hour=(None, 500))])
    assert unknown.text == "?"
    money = badge_spec([make_snapshot(hour=None, credits=(4.2, 10.0))])
    assert money.text == "$4.2"


def test_stale_badge_is_grey(qapp):
    spec = badge_spec([make_snapshot(hour=(420, 500), stale=True)])
    img = render_badge(spec, 32)
    assert close(pill_color(img), LEVEL_COLORS[T.STALE][0])


def test_no_data_is_never_blank(qapp):
    for size in ICON_SIZES:
        img = render_badge(NO_DATA, size)
        opaque = sum(1 for y in range(img.height()) for x in range(img.width()) if img.pixelColor(x, y).alpha() > 200)
        assert opaque > img.width() * img.height() // 2
        assert ink_pixels(img, "#ffffff") > 0


def test_icon_has_all_sizes(qapp):
    icon = badge_icon(BadgeSpec("420", T.OK), template=False)
    sizes = {(s.width(), s.height()) for s in icon.availableSizes()}
    for size in ICON_SIZES:
        assert (size, size) in sizes
    assert not icon.isMask()


def test_template_icon_is_mask_with_knocked_out_text(qapp):
    icon = badge_icon(BadgeSpec("420", T.OK), template=True)
    assert icon.isMask()
    img = render_badge(BadgeSpec("420", T.OK), 32, 1.0, template=True)
    colours = {img.pixelColor(x, y).rgb() & 0xFFFFFF for y in range(32) for x in range(32)
               if img.pixelColor(x, y).alpha() > 0}
    assert colours == {0}  # black only: the menu bar tints it
    # text is cut out: transparent pixels inside the pill
    inside = [img.pixelColor(x, 16).alpha() for x in range(6, 26)]
    assert min(inside) < 100 and max(inside) == 255
