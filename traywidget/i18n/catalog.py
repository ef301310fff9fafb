"""Which language is spoken, and the gettext catalog that speaks it.

The catalogs are traywidget/locale/<code>/LC_MESSAGES/traywidget.mo (built from
the .po beside them by packaging/i18n.py). Until a language is chosen every
text is its English msgid, so a library user, a test or machine output that
never chooses one gets English.
"""

from __future__ import annotations

import gettext
import io
import logging
import os
import re
from collections.abc import Iterable, Mapping

log = logging.getLogger(__name__)

DOMAIN = "traywidget"
ENGLISH = "en"
# The languages traywidget speaks, each by its own name (a name in the current
# language would be useless to someone who cannot read it).
LANGUAGES: dict[str, str] = {
    ENGLISH: "English",
    "de": "Deutsch",
    "es": "Español",
    "zh_CN": "简体中文",
}
# Where gettext looks for the user's languages, in its order (LANGUAGE may list several, "de:en").
LANGUAGE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = ENGLISH


def system_languages(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The user's languages as the environment lists them, most wanted first ([] when it says nothing)."""
    for variable in LANGUAGE_VARIABLES:
        value = environ.get(variable, "").strip()
        if value:
            return [part for part in value.split(":") if part]
    return []


_LOCALE_NAME = re.compile(r"^([A-Za-z]{2,3})(?:[-_]([A-Za-z]{4}))?(?:[-_]([A-Za-z]{2}|\d{3}))?(?:[.@].*)?$")


def supported_language(name: str) -> str | None:
    """The language traywidget speaks for a locale name ("de_DE.UTF-8", "zh-Hans-CN", "es-419", "C"), or None.

    Chinese means Simplified Chinese unless the name says Traditional (zh_TW,
    zh_HK, zh_MO, zh-Hant), which is not shipped: better the next language in
    the user's list than the wrong script.
    """
    if name in ("C", "POSIX") or name.startswith(("C.", "POSIX.")):
        return ENGLISH
    match = _LOCALE_NAME.match(name.strip())
    if match is None:
        return None
    language, script, region = match.group(1).lower(), (match.group(2) or "").title(), (match.group(3) or "").upper()
    if language == "zh":
        traditional = script == "Hant" or (not script and region in ("TW", "HK", "MO"))
        return None if traditional else "zh_CN"
    return language if language in LANGUAGES else None


def choose_language(setting: str | None, candidates: Iterable[str]) -> str:
    """The language to speak: the Settings choice when it names one we speak, else the first of the
    user's languages (`candidates`, most wanted first) that we speak, else English."""
    if setting in LANGUAGES:
        return setting
    for name in candidates:
        language = supported_language(name)
        if language is not None:
            return language
    return ENGLISH


def load_catalog(language: str) -> gettext.NullTranslations:
    """The shipped catalog of `language` (English: none needed)."""
    if language == ENGLISH:
        return gettext.NullTranslations()
    from importlib.resources import files

    try:
        data = (files("traywidget.locale") / language / "LC_MESSAGES" / f"{DOMAIN}.mo").read_bytes()
        return gettext.GNUTranslations(io.BytesIO(data))
    except (OSError, ValueError) as exc:  # a broken install: English beats a crash
        log.warning("No %s translation (%s); speaking English", language, exc)
        return gettext.NullTranslations()


def use_catalog(translation: gettext.NullTranslations, language: str) -> None:
    """Speak through `translation` from now on; `language` (a LANGUAGES code) picks the number conventions."""
    global _translation, _language
    _translation = translation
    _language = language


def use_language(language: str) -> str:
    """Speak `language` (a LANGUAGES code; anything else means English) from now on; returns what is spoken."""
    if language not in LANGUAGES:
        language = ENGLISH
    use_catalog(load_catalog(language), language)
    return language


def current_language() -> str:
    return _language


def gettext_(message: str) -> str:
    # The empty msgid is the catalog's header: an empty text stays empty.
    return _translation.gettext(message) if message else message


def ngettext_(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)
