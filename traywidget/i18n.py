"""The one translation mechanism: every user-facing string goes through here.

    from traywidget.i18n import tr, trn, tr_noop
    tr("Kill all streams")
    trn("Stopped {n} stream", "Stopped {n} streams", n).format(n=n)
    NOTE = tr_noop("Shown later")   # marked for translation, translated where shown: tr(NOTE)

Strings are English msgids (gettext). Format placeholders with str.format
after translating, never before. Until a language is chosen (or for
machine-readable output, which stays English), tr() returns the msgid.
"""

from __future__ import annotations

import gettext

_translation: gettext.NullTranslations = gettext.NullTranslations()


def tr(message: str) -> str:
    return _translation.gettext(message)


def trn(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)


def tr_noop(message: str) -> str:
    """Marks `message` for extraction without translating it now."""
    return message
