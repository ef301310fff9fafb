"""Numbers, money, percentages, times, durations and plural phrases, exactly as each language writes them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from traywidget.i18n import Listing, Money, Phrase, enumeration, tr, use_language
from traywidget.i18n.numbers import NBSP, number
from traywidget.model import (
    BALANCE,
    CREDITS,
    REQUESTS_DAY,
    REQUESTS_HOUR,
    REQUESTS_MINUTE,
    Meter,
    Unit,
)
from traywidget.present.formatting import (
    clock_time,
    count_left,
    format_amount,
    format_duration,
    left_text,
    pad,
    percent_left,
    reset_text,
    text_width,
    time_until_reset,
)
from traywidget.present.text import badge_text, streams_text

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
LANGS = ["en", "de", "es", "zh_CN"]


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def speaking(language: str, render):
    use_language(language)
    return render()


def per_language(render) -> list[str]:
    return [speaking(language, render) for language in LANGS]


@pytest.mark.parametrize("value,decimals,expected", [
    (999, 0, ["999", "999", "999", "999"]),
    (1234, 0, ["1,234", "1.234", "1234", "1,234"]),  # CLDR: Spanish groups from five digits on
    (12345, 0, ["12,345", "12.345", "12.345", "12,345"]),
    (1234567, 0, ["1,234,567", "1.234.567", "1.234.567", "1,234,567"]),
    (4.5, 1, ["4.5", "4,5", "4,5", "4.5"]),
    (-1234.5, 1, ["-1,234.5", "-1.234,5", "-1234,5", "-1,234.5"]),
    (-0.001, 2, ["0.00", "0,00", "0,00", "0.00"]),  # no "-0"
])
def test_numbers(value, decimals, expected):
    assert per_language(lambda: number(value, decimals)) == expected


@pytest.mark.parametrize("value,expected", [
    (4.2, ["$4.20", f"4,20{NBSP}$", f"4,20{NBSP}US$", "US$4.20"]),
    (1234.56, ["$1,234.56", f"1.234,56{NBSP}$", f"1234,56{NBSP}US$", "US$1,234.56"]),
    (-3.1, ["-$3.10", f"-3,10{NBSP}$", f"-3,10{NBSP}US$", "-US$3.10"]),
    (None, ["?", "?", "?", "?"]),
])
def test_money(value, expected):
    assert per_language(lambda: format_amount(value, Unit.USD)) == expected


@pytest.mark.parametrize("unit,value,expected", [
    # CLDR: the yuan is CN¥ in English and German, its code in Spanish, ¥ in Chinese (where the dollar is US$).
    (Unit.CNY, 110.0, ["CN¥110.00", f"110,00{NBSP}CN¥", f"110,00{NBSP}CNY", "¥110.00"]),
    (Unit.CNY, -2.5, ["-CN¥2.50", f"-2,50{NBSP}CN¥", f"-2,50{NBSP}CNY", "-¥2.50"]),
    (Unit.EUR, 1234.5, ["€1,234.50", f"1.234,50{NBSP}€", f"1234,50{NBSP}€", "€1,234.50"]),
    (Unit.JPY, 1500.0, ["¥1,500", f"1.500{NBSP}¥", f"1500{NBSP}JPY", "JP¥1,500"]),  # yen have no decimals
])
def test_money_in_any_currency(unit, value, expected):
    assert per_language(lambda: format_amount(value, unit)) == expected


def test_money_meters_say_their_currency_in_every_view():
    balance = Meter(BALANCE, Unit.CNY, remaining=110.0)
    assert per_language(lambda: left_text(balance)) == [
        "CN¥110.00 left in the balance", f"110,00{NBSP}CN¥ Kontoguthaben übrig",
        f"110,00{NBSP}CNY restantes en el saldo", "余额剩余 ¥110.00"]
    # The badge has room for one sign: the currency's narrow one.
    assert per_language(lambda: badge_text(balance)) == ["¥110", "¥110", "¥110", "¥110"]
    assert per_language(lambda: badge_text(Meter(BALANCE, Unit.EUR, remaining=4.25))) == ["€4.2", "€4,2", "€4,2",
                                                                                          "€4.2"]
    assert Meter.from_json(balance.to_json()) == balance
    assert balance.to_json()["unit"] == "cny"
    owed = Money(-3.5, 2, "cny")  # a phrase made below the views: English until shown
    assert str(owed) == "-CN¥3.50"
    assert per_language(owed.localized) == ["-CN¥3.50", f"-3,50{NBSP}CN¥", f"-3,50{NBSP}CNY", "-¥3.50"]


def test_a_window_counted_in_percent():
    week = Meter("usage_7d", Unit.PERCENT, limit=100, remaining=9.5)
    assert per_language(lambda: left_text(week, of_limit=True)) == [
        "7-day window: 9% left", f"7-Tage-Fenster: 9{NBSP}% übrig", f"Ventana de 7 días: quedan 9{NBSP}%",
        "7 天窗口：剩余 9%"]


def test_counts_and_tiny_money():
    assert per_language(lambda: format_amount(14999, Unit.REQUESTS)) == ["14,999", "14.999", "14.999", "14,999"]
    assert per_language(lambda: format_amount(2.5, Unit.REQUESTS)) == ["2.5", "2,5", "2,5", "2.5"]
    assert per_language(lambda: count_left(1999.99)) == ["1,999", "1.999", "1999", "1,999"]  # rounded down
    tiny = Money(0.0042, 4)
    assert str(tiny) == "$0.0042"
    assert per_language(tiny.localized) == ["$0.0042", f"0,0042{NBSP}$", f"0,0042{NBSP}US$", "US$0.0042"]


def test_percent():
    meter = Meter(REQUESTS_HOUR, Unit.REQUESTS, remaining=998, limit=1000)
    assert per_language(lambda: percent_left(meter)) == ["99%", f"99{NBSP}%", f"99{NBSP}%", "99%"]


def test_badge_figures_stay_compact_with_the_decimal_separator():
    for meter, expected in (
        (Meter(REQUESTS_HOUR, Unit.REQUESTS, remaining=1234, limit=5000), ["1.2K", "1,2K", "1,2K", "1.2K"]),
        (Meter(REQUESTS_DAY, Unit.REQUESTS, remaining=345, limit=500), ["345", "345", "345", "345"]),
        (Meter(CREDITS, Unit.USD, remaining=4.25, limit=10), ["$4.2", "$4,2", "$4,2", "$4.2"]),
        (Meter(CREDITS, Unit.USD, remaining=0.42, limit=10), ["$.42", "$,42", "$,42", "$.42"]),
    ):
        assert per_language(lambda: badge_text(meter)) == expected  # noqa: B023 - the lambda is called at once, inside the loop


def test_times_are_on_the_24_hour_clock_everywhere():
    assert per_language(lambda: clock_time(datetime(2025, 6, 1, 16, 0, tzinfo=UTC))) == ["16:00"] * 4


@pytest.mark.parametrize("seconds,expected", [
    (45, ["45 s", "45 s", "45 s", "45 秒"]),
    (23 * 60, ["23 min", "23 Min.", "23 min", "23 分钟"]),
    (3 * 3600 + 5 * 60, ["3 h 5 min", "3 Std. 5 Min.", "3 h 5 min", "3 小时 5 分钟"]),
    (2 * 3600, ["2 h", "2 Std.", "2 h", "2 小时"]),
    (2 * 86400 + 4 * 3600, ["2 d 4 h", "2 Tg. 4 Std.", "2 d 4 h", "2 天 4 小时"]),
    (3 * 86400, ["3 d", "3 Tg.", "3 d", "3 天"]),
])
def test_durations(seconds, expected):
    assert per_language(lambda: format_duration(seconds)) == expected


def test_resets():
    hour = Meter(REQUESTS_HOUR, Unit.REQUESTS, remaining=1, limit=500, resets_at=NOW + timedelta(hours=4))
    minute = Meter(REQUESTS_MINUTE, Unit.REQUESTS, remaining=1, limit=5, resets_at=NOW + timedelta(seconds=40),
                   approximate_reset=True)
    assert per_language(lambda: reset_text(hour, NOW)) == [
        "resets 16:00", "wird um 16:00 zurückgesetzt", "se reinicia a las 16:00", "16:00 重置"]
    assert per_language(lambda: reset_text(minute, NOW)) == [
        "resets in about 40 s", "wird in etwa 40 s zurückgesetzt", "se reinicia en aprox. 40 s", "约 40 秒后重置"]
    assert per_language(lambda: time_until_reset(NOW, NOW)) == ["now", "jetzt", "ahora", "现在"]


@pytest.mark.parametrize("remaining,expected", [
    (1, ["1 request left this hour", "1 Anfrage in dieser Stunde übrig", "1 solicitud restante en esta hora",
         "本小时剩余 1 个请求"]),
    (2, ["2 requests left this hour", "2 Anfragen in dieser Stunde übrig", "2 solicitudes restantes en esta hora",
         "本小时剩余 2 个请求"]),
    (1234, ["1,234 requests left this hour", "1.234 Anfragen in dieser Stunde übrig",
            "1234 solicitudes restantes en esta hora", "本小时剩余 1,234 个请求"]),
])
def test_plural_phrases(remaining, expected):
    meter = Meter(REQUESTS_HOUR, Unit.REQUESTS, remaining=remaining, limit=5000)
    assert per_language(lambda: left_text(meter)) == expected


def test_plural_of_the_limit_and_money_phrases():
    meter = Meter(REQUESTS_HOUR, Unit.REQUESTS, remaining=1, limit=500)
    assert per_language(lambda: left_text(meter, of_limit=True)) == [
        "1 of 500 requests left this hour", "1 von 500 Anfragen in dieser Stunde übrig",
        "1 de 500 solicitudes restantes en esta hora", "本小时剩余 1 / 500 个请求"]
    balance = Meter(BALANCE, Unit.USD, remaining=4.2)
    assert per_language(lambda: left_text(balance)) == [
        "$4.20 left in the balance", f"4,20{NBSP}$ Kontoguthaben übrig", f"4,20{NBSP}US$ restantes en el saldo",
        "余额剩余 US$4.20"]
    assert per_language(lambda: streams_text(1)) == [
        "1 stream running", "1 Stream läuft", "1 stream en curso", "1 个流式请求进行中"]
    assert per_language(lambda: streams_text(3)) == [
        "3 streams running", "3 Streams laufen", "3 streams en curso", "3 个流式请求进行中"]


def test_phrases_made_below_the_views_are_english_until_shown():
    """A Phrase is its English text wherever it is a str (JSON, logs); tr() says it in the language spoken."""
    spent = Phrase("Spent {amounts}", amounts=Listing([Phrase("today {amount}", amount=Money(0.12)),
                                                        Phrase("week {amount}", amount=Money(1.2))]))
    use_language("de")
    assert spent == "Spent today $0.12 · week $1.20"
    assert per_language(lambda: tr(spent)) == [
        "Spent today $0.12 · week $1.20", f"Ausgegeben: heute 0,12{NBSP}$ · diese Woche 1,20{NBSP}$",
        f"Gastado: hoy 0,12{NBSP}US$ · esta semana 1,20{NBSP}US$", "已花费：今日 US$0.12 · 本周 US$1.20"]
    literal = Phrase("{not a placeholder}")  # without parameters a msgid is text, braces and all
    assert literal == "{not a placeholder}" and tr(literal) == "{not a placeholder}"
    assert tr("") == ""  # never the catalog's header


def test_lists_of_names():
    assert per_language(lambda: enumeration(["Main", "Work", "Team"])) == [
        "Main, Work, Team", "Main, Work, Team", "Main, Work, Team", "Main、Work、Team"]
    assert per_language(lambda: enumeration(["Main"])) == ["Main"] * 4
    assert per_language(lambda: enumeration([])) == [""] * 4


def test_columns_count_what_a_terminal_shows():
    """A Chinese character takes two columns: tables and doctor's list stay aligned."""
    assert (text_width("Keyring"), text_width("密钥环"), text_width("API 密钥")) == (7, 6, 8)
    assert pad("密钥环", 8) + "|" == "密钥环  |"
    assert pad("Keyring", 8) + "|" == "Keyring |"
    assert pad("too long", 3) == "too long"
