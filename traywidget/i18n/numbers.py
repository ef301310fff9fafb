"""Numbers, money and percentages the way each shipped language writes them.

A table of the four languages from CLDR (the data behind ICU and Babel):
decimal and group separators, the minimum grouping (Spanish writes 1234 but
12.345), where the currency goes and how US dollars are called, and the
percent sign's spacing. Babel would bring all of CLDR (~30 MB) for these few
entries, and Qt's QLocale is not available to the CLI and core (no Qt
there), so the table lives here. A narrow no-break space (U+00A0) keeps a
number and its sign on one line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from traywidget.i18n.catalog import current_language

NBSP = "\u00a0"


@dataclass(frozen=True)
class Conventions:
    decimal: str
    group: str
    # Digits the integer part needs beyond 3 before a group separator is written (CLDR minimumGroupingDigits).
    min_grouping: int
    money: str  # "{number}" in its place: "${number}", "{number} $"
    percent: str  # "{number}%", "{number} %"
    # Currency signs other than the US dollar's (CLDR's symbol for the language); an ISO code
    # missing here is written as the code itself ("12.00 CHF"), which every language reads.
    symbols: tuple[tuple[str, str], ...] = ()


# Where the sign goes around the number, per language (the US dollar's own pattern is `money`).
_MONEY_PATTERN = {"en": "{symbol}{number}", "de": "{number}" + NBSP + "{symbol}",
                  "es": "{number}" + NBSP + "{symbol}", "zh_CN": "{symbol}{number}"}
# Currencies written without decimals (CLDR's digits=0).
_WHOLE_CURRENCIES = frozenset({"JPY"})


CONVENTIONS: dict[str, Conventions] = {
    "en": Conventions(".", ",", 1, "${number}", "{number}%",
                      (("CNY", "CN¥"), ("EUR", "€"), ("GBP", "£"), ("JPY", "¥"), ("HKD", "HK$"))),
    "de": Conventions(",", ".", 1, "{number}" + NBSP + "$", "{number}" + NBSP + "%",
                      (("CNY", "CN¥"), ("EUR", "€"), ("GBP", "£"), ("JPY", "¥"), ("HKD", "HK$"))),
    "es": Conventions(",", ".", 2, "{number}" + NBSP + "US$", "{number}" + NBSP + "%",
                      (("CNY", "CNY"), ("EUR", "€"), ("GBP", "GBP"), ("JPY", "JPY"), ("HKD", "HKD"))),
    "zh_CN": Conventions(".", ",", 1, "US${number}", "{number}%",
                         (("CNY", "¥"), ("EUR", "€"), ("GBP", "£"), ("JPY", "JP¥"), ("HKD", "HK$"))),
}


def conventions() -> Conventions:
    return CONVENTIONS.get(current_language(), CONVENTIONS["en"])


def _group(digits: str, rules: Conventions) -> str:
    if len(digits) < 4 + rules.min_grouping - 1:
        return digits
    groups = []
    while len(digits) > 3:
        digits, tail = digits[:-3], digits[-3:]
        groups.append(tail)
    groups.append(digits)
    return rules.group.join(reversed(groups))


def number(value: float, decimals: int = 0) -> str:
    """1,234 · 1.234 · 1234 (es) · 12.345 · 4.5 · 4,5: `value` rounded to `decimals` places."""
    return _number_in(conventions(), value, decimals)


def _number_in(rules: Conventions, value: float, decimals: int) -> str:
    if not math.isfinite(value):
        return "?"
    text = f"{abs(value):.{decimals}f}"
    whole, _, fraction = text.partition(".")
    sign = "-" if value < 0 and text.strip("0.") else ""
    grouped = _group(whole, rules)
    return sign + (grouped + rules.decimal + fraction if fraction else grouped)


def decimal_text(text: str) -> str:
    """A compact figure written with "." ("1.2K", "$4.2") in the language's decimal separator."""
    return text.replace(".", conventions().decimal)


def money(value: float, decimals: int = 2, currency: str = "USD") -> str:
    """An amount in `currency` (ISO 4217), the language's way: US dollars $4.20 · 4,20 $ · 4,20 US$ ·
    US$4.20; yuan CN¥110.00 · 110,00 CN¥ · 110,00 CNY · ¥110.00; a minus sign in front of it all."""
    return money_in(current_language(), value, decimals, currency)


def money_in(language: str, value: float, decimals: int = 2, currency: str = "USD") -> str:
    """`money` as `language` writes it (the English form is the text a Money phrase stands for)."""
    if not math.isfinite(value):
        return "?"
    rules = CONVENTIONS.get(language, CONVENTIONS["en"])
    code = currency.upper()
    if code in _WHOLE_CURRENCIES:
        decimals = 0
    amount = _number_in(rules, abs(value), decimals)
    sign = "-" if value < 0 and amount.strip("0.,") else ""
    if code == "USD":
        return sign + rules.money.format(number=amount)
    pattern = _MONEY_PATTERN.get(language, _MONEY_PATTERN["en"])
    return sign + pattern.format(symbol=dict(rules.symbols).get(code, code), number=amount)


def currency_symbol(currency: str) -> str:
    """The sign the language writes for a currency ("$", "CN¥", "¥" in Chinese for yuan); its code when none."""
    rules, code = conventions(), currency.upper()
    if code == "USD":
        return rules.money.replace("{number}", "").strip(NBSP + " ")
    return dict(rules.symbols).get(code, code)


def percent(whole: int) -> str:
    """99% · 99 %."""
    return conventions().percent.format(number=number(whole))


# The one-character signs a badge a few pixels wide has room for (CLDR's narrow symbols).
_NARROW_SIGNS = {"USD": "$", "CNY": "¥", "JPY": "¥", "EUR": "€", "GBP": "£", "HKD": "$"}


def narrow_currency_sign(currency: str) -> str:
    """"$", "¥", "€": a currency's sign where only one character fits; "" when it has none."""
    return _NARROW_SIGNS.get(currency.upper(), "")
