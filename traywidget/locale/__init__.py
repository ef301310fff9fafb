"""The translation catalogs, as package data: <language>/LC_MESSAGES/traywidget.po (what translators
edit) and traywidget.mo (what gettext reads, built by `python packaging/i18n.py compile`).
traywidget.pot is the template every catalog is merged from."""
