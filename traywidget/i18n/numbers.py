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


CONVENTIONS: dict[str, Conventions] = {
    "en": Conventions(".", ",", 1, "${number}", "{number}%"),
    "de": Conventions(",", ".", 1, "{number}" + NBSP + "$", "{number}" + NBSP + "%"),
    "es": Conventions(",", ".", 2, "{number}" + NBSP + "US$", "{number}" + NBSP + "%"),
    "zh_CN": Conventions(".", ",", 1, "US${number}", "{number}%"),
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
    if not math.isfinite(value):
        return "?"
    rules = conventions()
    text = f"{abs(value):.{decimals}f}"
    whole, _, fraction = text.partition(".")
    sign = "-" if value < 0 and text.strip("0.") else ""
    grouped = _group(whole, rules)
    return sign + (grouped + rules.decimal + fraction if fraction else grouped)


def decimal_text(text: str) -> str:
    """A compact figure written with "." ("1.2K", "$4.2") in the language's decimal separator."""
    return text.replace(".", conventions().decimal)


def money(value: float, decimals: int = 2) -> str:
    """US dollars: $4.20 · 4,20 $ · 4,20 US$ · US$4.20; a minus sign in front of it all."""
    if not math.isfinite(value):
        return "?"
    amount = number(abs(value), decimals)
    sign = "-" if value < 0 and amount.strip("0.,") else ""
    return sign + conventions().money.format(number=amount)


def percent(whole: int) -> str:
    """99% · 99 %."""
    return conventions().percent.format(number=number(whole))
