"""The GUI's language: ours (gettext, traywidget.i18n) and Qt's own words with it.

Qt's standard buttons (Save, Cancel, Discard), the context menu of a text
field (Undo, Copy, Paste…) and its message boxes come from Qt's catalogs,
qtbase_<lang>.qm in PySide6's translations folder; QLocale's default follows
too, so spin boxes write numbers the same way as the rest of the app.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from traywidget.i18n import ENGLISH, choose_language, system_languages, use_language

log = logging.getLogger(__name__)

_installed: QTranslator | None = None


def speak(setting: str | None) -> str:
    """Choose the language (Settings, else the user's: the environment, else what the OS tells Qt,
    which is where macOS and Windows keep it) and speak it, Qt included. Returns what is spoken."""
    candidates = system_languages() or list(QLocale.system().uiLanguages())
    language = use_language(choose_language(setting, candidates))
    _use_qt_catalog(language)
    return language


def _use_qt_catalog(language: str) -> None:
    global _installed
    app = QCoreApplication.instance()
    QLocale.setDefault(QLocale("en_US" if language == ENGLISH else language))
    if app is None:
        return
    if _installed is not None:
        app.removeTranslator(_installed)
        _installed = None
    if language == ENGLISH:
        return
    catalog = f"qtbase_{language}"  # Qt names its catalogs as gettext does: qtbase_de, qtbase_zh_CN
    translator = QTranslator(app)
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if translator.load(catalog, folder):
        app.installTranslator(translator)
        _installed = translator
    else:
        log.warning("Qt's %s catalog is not in %s: Qt's own buttons stay in English", catalog, folder)
