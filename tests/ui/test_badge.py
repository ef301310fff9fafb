"""The tray badge: what it shows (badge_spec) and how it is drawn, checked by rendering it and reading pixels."""

from __future__ import annotations

from collections import Counter

import pytest
from PySide6.QtGui import QColor, QImage

from tests.ui.conftest import make_snapshot
from traywidget.model import ErrorInfo, State, Thresholds
from traywidget.present.headline import pick_headline
from traywidget.ui.badge import (
    ACCOUNT_BANDS,
    ELSEWHERE,
    FINE,
    ICON_SIZES,
    LEVEL_COLORS,
    LOW,
    MARK_ALERT,
    MARK_COLORS,
    MARK_RING,
    MARK_WARN,
    NO_ACCOUNTS,
    NONE,
    REFUSED,
    STALE,
    BadgeSpec,
    account_band,
    badge_icon,
    badge_spec,
    band_rect,
    fit_text,
    mark_rect,
    render_badge,
    trouble_mark,
)


def dist(a: QColor, b: QColor) -> int:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())


def pill_color(img: QImage) -> QColor:
    """The pill's fill: the most common opaque colour of the image."""
    counts = Counter(img.pixel(x, y) for y in range(img.height()) for x in range(img.width())
                     if img.pixelColor(x, y).alpha() == 255)
    return QColor.fromRgba(counts.most_common(1)[0][0])


def ink_pixels(img: QImage, ink: str) -> list[tuple[int, int]]:
    """Pixels nearer the text colour than the pill colour (antialiased text counts)."""
    fill, ref = pill_color(img), QColor(ink)
    return [(x, y) for y in range(img.height()) for x in range(img.width())
            if img.pixelColor(x, y).alpha() == 255 and dist(img.pixelColor(x, y), ref) < dist(img.pixelColor(x, y),
                                                                                              fill)]


def at(img: QImage, x: float, y: float, dpr: float) -> str:
    """The colour at logical (x, y), as #rrggbb."""
    return img.pixelColor(int(x * dpr), int(y * dpr)).name()


def snaps(*pairs):
    return [make_snapshot(account, label=account.title(), **kwargs) for account, kwargs in pairs]


# --------------------------------------------------------------------------- what it shows
def spec_of(snapshots, **kwargs):
    return badge_spec(snapshots, pick_headline(snapshots), Thresholds(), **kwargs)


def test_spec_levels_from_snapshots():
    assert spec_of([]) == NO_ACCOUNTS
    assert spec_of(snaps(("a", {"hour": (420, 500)}))) == BadgeSpec("420", FINE, cue="h")
    assert spec_of(snaps(("a", {"hour": (50, 500)}))) == BadgeSpec("50", LOW, cue="h")
    assert spec_of(snaps(("a", {"hour": (0, 500), "state": State.EXHAUSTED}))) == BadgeSpec(
        "0", REFUSED, cue="h", mark=MARK_ALERT)
    # numbers that are not current are grey, whatever they say
    assert spec_of(snaps(("a", {"hour": (420, 500), "stale": True}))) == BadgeSpec("420", STALE, cue="h")
    assert spec_of(snaps(("a", {"hour": (420, 500), "state": State.OFFLINE}))) == BadgeSpec(
        "420", STALE, cue="h", mark=MARK_WARN)
    assert spec_of(snaps(("a", {"hour": (420, 500)})), paused=True) == BadgeSpec("420", STALE, cue="h")
    # a 429 is a refusal: red mark
    assert spec_of(snaps(("a", {"hour": (0, 500), "state": State.RATE_LIMITED}))) == BadgeSpec(
        "0", REFUSED, cue="h", mark=MARK_ALERT)
    # no figures: "?" once something was fetched, "…" before
    assert spec_of(snaps(("a", {"hour": None, "state": State.AUTH_ERROR}))) == BadgeSpec("?", NONE, mark=MARK_ALERT)
    assert spec_of(snaps(("a", {"hour": None, "fetched_at": None}))) == BadgeSpec("…", NONE)
    assert spec_of(snaps(("a", {"hour": (None, 500)}))) == BadgeSpec("?", NONE)
    assert spec_of(snaps(("a", {"hour": None, "credits": (4.2, 10.0)}))) == BadgeSpec("$4.2", FINE)


@pytest.mark.parametrize("trouble,expected", [
    ({"state": State.AUTH_ERROR, "error": ErrorInfo("Invalid API key", 401)}, ("300", MARK_ALERT, ELSEWHERE)),
    ({"state": State.PAYMENT_REQUIRED}, ("300", MARK_ALERT, ELSEWHERE)),
    ({"state": State.NO_KEY, "hour": None}, ("300", MARK_ALERT, ELSEWHERE)),
    ({"state": State.RATE_LIMITED, "hour": (450, 500)}, ("300", MARK_ALERT, ELSEWHERE)),
    ({"state": State.OFFLINE}, ("300", MARK_WARN, ELSEWHERE)),
    ({"state": State.ERROR}, ("300", MARK_WARN, ELSEWHERE)),
    # an exhausted window is the most binding of all: it takes the badge, red
    ({"state": State.EXHAUSTED, "hour": (0, 500)}, ("0", MARK_ALERT, REFUSED)),
])
def test_trouble_on_any_account_marks_the_icon_and_the_pill_never_says_fine(trouble, expected):
    """A healthy account (60 % left) is on the badge; a broken one elsewhere still marks the icon."""
    fine = ("good", {"hour": (300, 500)})
    broken = ("bad", {"hour": (450, 500), **trouble})
    spec = spec_of(snaps(fine, broken))
    assert (spec.text, spec.mark, spec.level) == expected
    assert spec_of(snaps(fine)).level == FINE


def test_cached_trouble_raises_no_mark_until_a_poll_confirms_it():
    assert trouble_mark(snaps(("a", {"state": State.AUTH_ERROR, "stale": True}))) == ""
    assert trouble_mark(snaps(("a", {"state": State.OK}), ("b", {"state": State.LOW}))) == ""


def test_one_icon_per_account_carries_the_accounts_band():
    snapshot = make_snapshot("or", provider="openrouter", hour=None, plan=None, credits=(4.2, 10.0))
    spec = badge_spec([snapshot], pick_headline([snapshot]), band=account_band(1))
    assert spec == BadgeSpec("$4.2", FINE, band=ACCOUNT_BANDS[1])
    assert [account_band(i) for i in range(7)] == [*ACCOUNT_BANDS, ACCOUNT_BANDS[0]]


# --------------------------------------------------------------------------- how it is drawn
@pytest.mark.parametrize("size", ICON_SIZES)
@pytest.mark.parametrize("dpr", [1.0, 2.0])
@pytest.mark.parametrize("level", [FINE, LOW, REFUSED, STALE, ELSEWHERE])
def test_pill_colour_and_text_present(qapp, size, dpr, level):
    img = render_badge(BadgeSpec("420", level), size, dpr)
    assert img.width() == round(size * dpr)
    fill, ink = LEVEL_COLORS[level]
    assert pill_color(img).name() == fill
    assert len(ink_pixels(img, ink)) >= max(3, img.width() // 4), "no text drawn"
    # transparent corners: it is a pill, not a square
    assert img.pixelColor(0, 0).alpha() == 0


def test_small_sizes_shorten_text():
    assert fit_text("$4.2", 16) == "$4"
    assert fit_text("$.42", 16) == "$.4"
    assert fit_text("1.2K", 16) == "1K"
    assert fit_text("1.2K", 22) == "1.2K"
    assert fit_text("999", 16) == "999"
    assert fit_text("$123", 16) == "$123"


def test_compact_texts_fit_and_differ(qapp):
    assert render_badge(BadgeSpec("1.2K", FINE), 22) != render_badge(BadgeSpec("999", FINE), 22)
    for text in ("1.2K", "15K", "$4.2", "$12", "?", "…", "+"):
        img = render_badge(BadgeSpec(text, FINE), 16)
        assert len(ink_pixels(img, "#ffffff")) > 6, text


@pytest.mark.parametrize("size,drawn", [(16, False), (22, True), (24, True), (32, True), (48, True)])
def test_window_letter_where_it_fits(qapp, size, drawn):
    plain = render_badge(BadgeSpec("345", FINE), size, 2.0)
    hour = render_badge(BadgeSpec("345", FINE, cue="h"), size, 2.0)
    day = render_badge(BadgeSpec("345", FINE, cue="d"), size, 2.0)
    assert (plain != hour) is drawn
    assert (hour != day) is drawn  # the letter itself is drawn, not just room for one


@pytest.mark.parametrize("size", [16, 22, 24, 32, 64])
@pytest.mark.parametrize("mark", [MARK_ALERT, MARK_WARN])
def test_trouble_mark_is_a_dot_with_an_exclamation_mark(qapp, size, mark):
    dpr = 2.0
    plain = render_badge(BadgeSpec("37", FINE), size, dpr)
    marked = render_badge(BadgeSpec("37", FINE, mark=mark), size, dpr)
    r = mark_rect(size, dpr)
    dot, glyph = MARK_COLORS[mark]
    cx, cy = r.center().x(), r.center().y()
    # inside the dot, left of the "!"
    assert at(marked, cx - r.width() * 0.28, cy, dpr) == dot
    assert at(plain, cx - r.width() * 0.28, cy, dpr) != dot
    # the "!": its bar and its point
    assert at(marked, cx, r.top() + r.height() * 0.37, dpr) == glyph
    assert at(marked, cx, r.top() + r.height() * 0.62, dpr) == dot  # the gap between bar and point
    assert at(marked, cx, r.top() + r.height() * 0.75, dpr) == glyph
    # a white ring parts the dot from the pill (antialiased: the circle's edge)
    assert dist(marked.pixelColor(int((r.left() + 0.25) * dpr), int(cy * dpr)), QColor(MARK_RING)) <= 30


@pytest.mark.parametrize("size", [16, 22, 24, 32, 48])
@pytest.mark.parametrize("text", ["7", "345", "1.2K"])
def test_the_figure_keeps_clear_of_the_mark(qapp, size, text):
    """Dark text on amber, a red dot with a white "!": every dark pixel is the figure's. None of them lies in
    the mark's column above its lower edge (the dot is drawn last and would hide a figure under it)."""
    dpr = 2.0
    img = render_badge(BadgeSpec(text, LOW, cue="h", mark=MARK_ALERT), size, dpr)
    ink = ink_pixels(img, LEVEL_COLORS[LOW][1])
    assert len(ink) > 10
    r = mark_rect(size, dpr)
    inside = [(x, y) for x, y in ink if x / dpr >= r.left() and y / dpr < r.bottom() - r.height() * 0.12]
    assert inside == []


@pytest.mark.parametrize("size", [16, 22, 32])
@pytest.mark.parametrize("dpr", [1.0, 2.0])
@pytest.mark.parametrize("band", ACCOUNT_BANDS)
def test_account_band_along_the_bottom(qapp, size, dpr, band):
    img = render_badge(BadgeSpec("42", FINE, band=band), size, dpr)
    b = band_rect(size, dpr)
    assert at(img, size / 2, b.center().y(), dpr) == band
    assert at(img, size / 2, b.top() - 1.5, dpr) != band
    plain = render_badge(BadgeSpec("42", FINE), size, dpr)
    assert at(plain, size / 2, b.center().y(), dpr) == LEVEL_COLORS[FINE][0]


def test_account_bands_are_told_apart_from_each_other_and_from_the_levels():
    colours = [QColor(c) for c in ACCOUNT_BANDS] + [QColor(fill) for fill, _ in LEVEL_COLORS.values()]
    for i, a in enumerate(colours):
        for b in colours[i + 1:]:
            if a != b:
                assert dist(a, b) >= 90, (a.name(), b.name())


def test_no_data_is_never_blank(qapp):
    for spec in (BadgeSpec("…", NONE), NO_ACCOUNTS):
        for size in ICON_SIZES:
            img = render_badge(spec, size)
            opaque = sum(1 for y in range(img.height()) for x in range(img.width())
                         if img.pixelColor(x, y).alpha() > 200)
            assert opaque > img.width() * img.height() // 2
            assert ink_pixels(img, "#ffffff")


def test_icon_has_all_sizes(qapp):
    icon = badge_icon(BadgeSpec("420", FINE), template=False)
    sizes = {(s.width(), s.height()) for s in icon.availableSizes()}
    for size in ICON_SIZES:
        assert (size, size) in sizes
    assert not icon.isMask()


def test_template_icon_is_mask_with_knocked_out_text_and_mark(qapp):
    icon = badge_icon(BadgeSpec("420", FINE, mark=MARK_ALERT), template=True)
    assert icon.isMask()
    img = render_badge(BadgeSpec("420", FINE), 32, 1.0, template=True)
    colours = {img.pixelColor(x, y).rgb() & 0xFFFFFF for y in range(32) for x in range(32)
               if img.pixelColor(x, y).alpha() > 0}
    assert colours == {0}  # black only: the menu bar tints it
    # text is cut out: transparent pixels inside the pill
    inside = [img.pixelColor(x, 16).alpha() for x in range(6, 26)]
    assert min(inside) < 100 and max(inside) == 255
    marked = render_badge(BadgeSpec("420", FINE, mark=MARK_ALERT), 32, 2.0, template=True)
    r = mark_rect(32, 2.0)
    assert marked.pixelColor(int((r.center().x() - r.width() * 0.28) * 2), int(r.center().y() * 2)).alpha() == 255
    assert marked.pixelColor(int(r.center().x() * 2), int((r.top() + r.height() * 0.4) * 2)).alpha() == 0
