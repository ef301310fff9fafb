"""The one translation mechanism: every user-facing string goes through here.

    from traywidget.i18n import tr, trn, tr_noop, trn_noop
    tr("Kill all streams")
    trn("Stopped {n} stream", "Stopped {n} streams", n).format(n=n)
    NOTE = tr_noop("Shown later")          # marked for translation, translated where shown: tr(NOTE)
    LEFT = trn_noop("{n} request left", "{n} requests left")   # trn(*LEFT, n) where shown

Strings are English msgids (gettext), collected by `packaging/i18n.py
extract`. Format placeholders with str.format after translating, never
before. Text made below the views and read later (notes, error messages in
snapshots) is a Phrase (i18n/phrases.py): English as a str, translated by
tr() where shown. Numbers, money and percentages in the language's own
conventions: i18n/numbers.py.

The language is chosen once at start-up (`use_language(choose_language(
setting, system_languages()))`) and may change while the app runs; until
then, and for machine-readable output, everything is English.
"""

from __future__ import annotations

from collections.abc import Iterable

from traywidget.i18n.catalog import (
    ENGLISH,
    LANGUAGES,
    choose_language,
    current_language,
    gettext_,
    ngettext_,
    supported_language,
    system_languages,
    use_catalog,
    use_language,
)
from traywidget.i18n.phrases import Listing, Localizable, Money, Phrase

__all__ = [
    "ENGLISH", "LANGUAGES", "Listing", "Localizable", "Money", "Phrase", "choose_language", "current_language",
    "enumeration",
    "supported_language", "system_languages", "tr", "tr_noop", "trn", "trn_noop", "use_catalog", "use_language",
]


def tr(message: str) -> str:
    """`message` in the current language (a Phrase says itself; an unknown text stays as it is)."""
    if isinstance(message, Localizable):
        return message.localized()
    return gettext_(message)


def trn(singular: str, plural: str, n: int) -> str:
    """The form of singular/plural the current language uses for `n`."""
    return ngettext_(singular, plural, n)


def enumeration(items: Iterable[str]) -> str:
    """Items one after the other as the language lists them: "Main, Work" · "Main、Work"."""
    text = ""
    for item in items:
        text = tr("{items}, {item}").format(items=text, item=item) if text else item
    return text


def tr_noop(message: str) -> str:
    """Marks `message` for extraction without translating it now."""
    return message


def trn_noop(singular: str, plural: str) -> tuple[str, str]:
    """Marks a singular/plural pair for extraction; trn(*pair, n) translates it where shown."""
    return singular, plural
