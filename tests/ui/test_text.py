"""Numbers, words and the binding meter (no Qt needed)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.ui.conftest import NOW, make_snapshot
from traywidget.model import REQUESTS_DAY, REQUESTS_HOUR, Meter, State, Unit
from traywidget.ui import text as T


@pytest.mark.parametrize("value,text", [
    (None, "?"), (float("nan"), "?"), (-3, "0"), (0, "0"), (7, "7"), (999, "999"), (999.9, "999"),
    (1000, "1k"), (1234, "1.2k"), (1299, "1.2k"), (9999, "9.9k"), (10_000, "10k"), (15_400, "15k"),
    (999_999, "999k"), (1_000_000, "1M"), (1_250_000, "1.2M"), (42_000_000, "42M"), (3e9, "3G"),
])
def test_format_count(value, text):
    assert T.format_count(value) == text


@pytest.mark.parametrize("value,text", [
    (None, "?"), (0, "$0"), (0.42, "$.42"), (0.999, "$.99"), (4, "$4"), (4.0, "$4"), (4.25, "$4.2"),
    (9.99, "$9.9"), (12.7, "$12"), (123.4, "$123"), (1234, "1.2k"), (-0.5, "$0"), (-3.2, "-$3"),
])
def test_format_money(value, text):
    assert T.format_money(value) == text


def test_badge_text_uses_unit():
    assert T.badge_text(Meter("credits", Unit.USD, remaining=4.2, limit=10)) == "$4.2"
    assert T.badge_text(Meter("requests_hour", Unit.REQUESTS, remaining=1234, limit=5000)) == "1.2k"
    assert T.badge_text(Meter("requests_hour", Unit.REQUESTS)) == "?"
    assert T.badge_text(None) == "?"


def test_meter_line_variants():
    m = Meter(REQUESTS_HOUR, Unit.REQUESTS, remaining=420, limit=500, resets_at=NOW + timedelta(minutes=23))
    assert T.meter_line(m, NOW) == "Requests this hour: 420 / 500 · resets in 23 min"
    approx = Meter("requests_minute", Unit.REQUESTS, remaining=40, limit=50, estimated=True,
                   resets_at=NOW + timedelta(seconds=40), approximate_reset=True)
    assert T.meter_line(approx, NOW) == "Requests this minute: ≈ 40 / 50 · resets in about 40 s"
    nocap = Meter(REQUESTS_HOUR, Unit.REQUESTS, used=120)
    assert T.meter_line(nocap, NOW) == "Requests this hour: 120 used · no cap"
    money = Meter("credits", Unit.USD, remaining=4.2, limit=10)
    assert T.meter_line(money, NOW) == "Credits left on key: $4.20 / $10.00"


def test_binding_meter_lowest_fraction_wins():
    a = make_snapshot("a", hour=(400, 500), day=(900, 1000))  # 80 %, 90 %
    b = make_snapshot("b", hour=(300, 500), day=(100, 1000))  # 60 %, 10 %
    snap, meter = T.binding_meter([a, b])
    assert (snap.account_id, meter.name) == ("b", REQUESTS_DAY)


def test_binding_meter_pinned_and_fallbacks():
    a = make_snapshot("a", hour=(400, 500))
    b = make_snapshot("b", hour=(10, 500))
    assert T.binding_meter([a, b], "a/requests_hour")[0].account_id == "a"
    # a pin that does not exist falls back to automatic
    assert T.binding_meter([a, b], "zzz/requests_hour")[0].account_id == "b"
    # no capped meter: an uncapped balance is still better than nothing
    bal = make_snapshot("c", hour=None, credits=(12.5, None))
    assert T.binding_meter([bal])[1].name == "credits"
    assert T.binding_meter([make_snapshot("d", hour=None)]) is None
    assert T.binding_meter([]) is None


def test_account_ids_with_slash_in_pin():
    s = make_snapshot("team/a", hour=(5, 500))
    assert T.binding_meter([s, make_snapshot("b", hour=(1, 500))], "team/a/requests_hour")[0].account_id == "team/a"


def test_menu_header_avoids_repeating_label():
    s = make_snapshot(label="routing.run · Premium", plan="Premium")
    assert T.menu_header(s) == "routing.run · Premium — OK"
    s2 = make_snapshot(label="Work", plan="Lite", state=State.RATE_LIMITED, stale=True)
    assert T.menu_header(s2) == "Work · routing.run Lite — Rate limited (429) · stale"
