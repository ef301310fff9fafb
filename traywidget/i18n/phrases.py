"""Text made below the views that a person reads later, in whatever language is spoken then.

A provider's note or an engine's error message is made where there is no
view, lives in a snapshot (which the status JSON prints, in English), and is
shown by the tray or the CLI in the user's language. So it is English text
that remembers how to say itself: as a `str` it is the English sentence
(JSON, logs, comparisons, the cache); `tr(text)` says it in the language
spoken at that moment. A plain msgid (a tr_noop constant) needs no wrapper:
tr() looks it up as it is.

    Phrase(tr_noop("{host} refused the connection"), host=host)
    Phrase(tr_noop("Spent {spent}"), spent=Listing([Phrase(tr_noop("today {amount}"), amount=Money(0.12))]))
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from traywidget.i18n.catalog import gettext_
from traywidget.i18n.numbers import money, money_in


class Localizable(str):
    """A str (its English form) that can also say itself in the current language."""

    def localized(self) -> str:
        raise NotImplementedError


def localize(value: Any) -> Any:
    return value.localized() if isinstance(value, Localizable) else value


class Phrase(Localizable):
    """A msgid with its parameters (which may be Localizable themselves). Without parameters the
    msgid is not a template: like tr("..."), its braces are text."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, /, **params: Any) -> Phrase:
        self = super().__new__(cls, msgid.format(**params) if params else msgid)
        self.msgid = msgid
        self.params = params
        return self

    def localized(self) -> str:
        text = gettext_(self.msgid)
        if not self.params:
            return text
        return text.format(**{name: localize(value) for name, value in self.params.items()})

    def __reduce__(self) -> tuple:
        return (_phrase, (self.msgid, self.params))


def _phrase(msgid: str, params: dict[str, Any]) -> Phrase:
    return Phrase(msgid, **params)


class Money(Localizable):
    """An amount of money (US dollars unless `currency` says otherwise): "$4.20" in English,
    "4,20 $" in German, "CN¥110.00" / "¥110.00" (Chinese) for yuan."""

    value: float
    decimals: int
    currency: str

    def __new__(cls, value: float, decimals: int = 2, currency: str = "USD") -> Money:
        english = money_in("en", value, decimals, currency)
        self = super().__new__(cls, english)
        self.value, self.decimals, self.currency = value, decimals, currency.upper()
        return self

    def localized(self) -> str:
        return money(self.value, self.decimals, self.currency)

    def __reduce__(self) -> tuple:
        return (Money, (self.value, self.decimals, self.currency))


class Listing(Localizable):
    """Items shown side by side, each in the current language: "today $0.12 · week $1.20"."""

    items: tuple[str, ...]
    separator: str

    def __new__(cls, items: Iterable[str], separator: str = " · ") -> Listing:
        items = tuple(items)
        self = super().__new__(cls, separator.join(items))
        self.items, self.separator = items, separator
        return self

    def localized(self) -> str:
        return self.separator.join(localize(item) for item in self.items)

    def __reduce__(self) -> tuple:
        return (Listing, (self.items, self.separator))


# ------------------------------------------------------------------------------ kept in a file
# The snapshot cache keeps these as JSON, so that cached notes and messages shown at start-up are said
# in the user's language too (not only after the first poll).
def to_data(text: str) -> Any:
    """`text` as JSON data: a plain str stays a str; a Localizable keeps what it needs to say itself."""
    if isinstance(text, Phrase):
        return {"phrase": text.msgid, "params": {name: to_data(value) if isinstance(value, str) else value
                                                  for name, value in text.params.items()}}
    if isinstance(text, Money):
        data = {"money": text.value, "decimals": text.decimals}
        return data if text.currency == "USD" else {**data, "currency": text.currency}
    if isinstance(text, Listing):
        return {"listing": [to_data(item) for item in text.items], "separator": text.separator}
    return str(text)


def from_data(data: Any, english: str) -> str:
    """The text to_data() kept, if it still reads `english` (as stored beside it); else `english` as it is.
    Whatever a hand edit or another version left there, this never fails."""
    try:
        text = _from_data(data)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError):
        return english
    return text if text == english else english


def _from_data(data: Any) -> Any:
    if isinstance(data, str):
        return data
    if isinstance(data, dict) and isinstance(data.get("phrase"), str) and isinstance(data.get("params"), dict):
        params = {str(name): _from_data(value) if isinstance(value, (str, dict)) else value
                  for name, value in data["params"].items()}
        if not all(isinstance(value, (str, int, float)) for value in params.values()):
            raise TypeError("a parameter that is not text or a number")
        return Phrase(data["phrase"], **params)
    if isinstance(data, dict) and isinstance(data.get("money"), (int, float)) and isinstance(data.get("decimals"), int):
        currency = data.get("currency", "USD")
        if not isinstance(currency, str) or not currency.isalpha() or len(currency) != 3:
            raise TypeError("a currency that is not an ISO code")
        return Money(data["money"], max(0, min(data["decimals"], 8)), currency)
    if isinstance(data, dict) and isinstance(data.get("listing"), list) and isinstance(data.get("separator"), str):
        return Listing([_from_data(item) for item in data["listing"]], data["separator"])
    raise ValueError("not a kept text")
