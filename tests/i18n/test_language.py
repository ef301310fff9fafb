"""Which language is spoken: Settings first, else the environment (as gettext reads it), else Qt's idea of
the system; the command line with --json always in English; a switch in Settings seen at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QLineEdit

from tests.ui.conftest import (
    NOW,
    FakeEngine,
    make_controller,
    make_snapshot,
)
from traywidget.i18n import (
    LANGUAGES,
    choose_language,
    current_language,
    supported_language,
    system_languages,
    use_language,
)
from traywidget.model import Account
from traywidget.store.config import Config, ConfigStore, Settings
from traywidget.ui.language import speak
from traywidget.ui.settings import SettingsDialog


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("environ,expected", [
    ({"LANGUAGE": "de:en", "LC_ALL": "es_ES.UTF-8", "LANG": "fr_FR.UTF-8"}, ["de", "en"]),
    ({"LANGUAGE": "", "LC_ALL": "es_ES.UTF-8", "LC_MESSAGES": "de_DE", "LANG": "fr_FR"}, ["es_ES.UTF-8"]),
    ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "de_DE.UTF-8"}, ["zh_CN.UTF-8"]),
    ({"LANG": "de_DE.UTF-8"}, ["de_DE.UTF-8"]),
    ({}, []),
])
def test_the_environment_is_read_as_gettext_reads_it(environ, expected):
    assert system_languages(environ) == expected


@pytest.mark.parametrize("name,expected", [
    ("de_DE.UTF-8", "de"), ("de_AT", "de"), ("de-CH", "de"), ("es_MX.UTF-8@euro", "es"), ("es-419", "es"),
    ("en_GB", "en"), ("C", "en"), ("C.UTF-8", "en"), ("POSIX", "en"),
    ("zh_CN.UTF-8", "zh_CN"), ("zh-Hans-CN", "zh_CN"), ("zh_SG", "zh_CN"), ("zh", "zh_CN"),
    ("zh_TW.UTF-8", None), ("zh-Hant-HK", None), ("zh_HK", None),  # Traditional is not shipped
    ("fr_FR.UTF-8", None), ("pt-BR", None), ("", None), ("garbage!", None),
])
def test_locale_names(name, expected):
    assert supported_language(name) == expected


@pytest.mark.parametrize("setting,candidates,expected", [
    ("es", ["de_DE.UTF-8"], "es"),  # Settings win over the environment
    ("en", ["de_DE.UTF-8"], "en"),
    (None, ["de_DE.UTF-8"], "de"),  # "System default" follows it
    (None, ["fr_FR", "zh-Hant-TW", "es-ES", "de"], "es"),  # the first one we speak
    (None, ["fr_FR"], "en"),
    (None, [], "en"),
    ("klingon", ["de"], "de"),  # a setting from a newer version or a hand edit: ignored
])
def test_choose_language(setting, candidates, expected):
    assert choose_language(setting, candidates) == expected


def test_the_setting_is_saved_and_read(tmp_path):
    store = ConfigStore(tmp_path)
    assert store.language() is None  # no file
    store.save(Config(settings=Settings(language="zh_CN")))
    assert json.loads(store.path.read_text())["settings"]["language"] == "zh_CN"
    assert store.load().settings.language == "zh_CN"
    assert store.language() == "zh_CN"
    assert Settings.from_json({"language": "xx"}).language is None
    assert Settings.from_json({"language": 3}).language is None


def test_reading_the_setting_touches_no_file(tmp_path):
    """The CLI reads the language before anything else: a corrupt file is left for load() to report."""
    store = ConfigStore(tmp_path)
    store.path.write_text("{corrupt")
    assert store.language() is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


# ------------------------------------------------------------------------------ the CLI
def cli(*args: str, language: str | None, config_dir: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    env.update(TRAYWIDGET_CONFIG_DIR=str(config_dir), LANG="C.UTF-8")
    if language:
        env["LANGUAGE"] = language
    return subprocess.run([sys.executable, "-m", "traywidget", *args], capture_output=True, text=True, env=env,
                          timeout=60)


BAD_ID = ("accounts", "add", "routing.run", "--id", "bad id!")
BAD_ID_MESSAGES = {
    "en": "An account id is 1-64 letters",
    "de": "Eine Konto-ID besteht aus 1–64 Buchstaben",
    "es": "Un ID de cuenta tiene de 1 a 64 letras",
    "zh_CN": "账户 ID 由 1–64 个字母",
}


@pytest.mark.slow
def test_cli_follows_the_environment_and_the_setting(tmp_path):
    config = tmp_path / "config"
    for language, expected in BAD_ID_MESSAGES.items():
        proc = cli(*BAD_ID, language=language, config_dir=config)
        assert proc.returncode == 2 and expected in proc.stderr, (language, proc.stderr)
    ConfigStore(config).save(Config(settings=Settings(language="es")))
    proc = cli(*BAD_ID, language="de", config_dir=config)
    assert BAD_ID_MESSAGES["es"] in proc.stderr  # the setting wins
    ConfigStore(config).save(Config(settings=Settings(language=None)))
    proc = cli(*BAD_ID, language="zh_CN", config_dir=config)
    assert BAD_ID_MESSAGES["zh_CN"] in proc.stderr  # "System default": the environment


@pytest.mark.slow
def test_cli_with_json_speaks_english(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    for json_flag, expected in ((False, "Die Konfigurationsdatei"), (True, "The config file")):
        (config / "config.json").write_text("{corrupt")
        proc = cli("accounts", "list", *(["--json"] if json_flag else []), language="de", config_dir=config)
        assert expected in proc.stderr, proc.stderr


# ------------------------------------------------------------------------------- the GUI
def test_qt_speaks_the_same_language(qtbot):
    """Qt's own words (standard buttons, a text field's context menu) come from its catalogs."""
    expected = {"de": ["Speichern", "Abbrechen", "&Rückgängig"], "es": ["Guardar", "Cancelar", "&Deshacer"],
                "zh_CN": ["保存", "取消", "撤消(&U)"], "en": ["Save", "Cancel", "&Undo"]}
    for language, words in expected.items():
        assert speak(language) == language == current_language()
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        field = QLineEdit()
        menu = field.createStandardContextMenu()
        shown = [button.text() for button in box.buttons()] + [menu.actions()[0].text().split("\t")[0]]
        assert shown == words
        menu.deleteLater()


def test_settings_offers_every_language_by_its_own_name(qtbot, tmp_path):
    use_language("de")
    store = ConfigStore(tmp_path)
    store.save(Config(settings=Settings(language="es")))
    dialog = SettingsDialog(store, None)
    qtbot.addWidget(dialog)
    items = [(dialog.language.itemText(i), dialog.language.itemData(i)) for i in range(dialog.language.count())]
    assert items == [("Systemsprache", None), *((name, code) for code, name in LANGUAGES.items())]
    assert dialog.language.currentData() == "es"
    assert "nach einem Neustart" in dialog.language_note.text()
    dialog.language.setCurrentIndex(dialog.language.findData("zh_CN"))
    assert dialog.build_config().settings.language == "zh_CN"
    assert dialog.low_pct.text() == "20\u00a0%"  # the percent sign as German writes it


def test_a_switch_in_settings_is_seen_at_once(qtbot, tmp_path):
    """Menu, tooltip and panel change language as soon as the new setting is applied."""
    use_language("en")
    account = Account("main", "routing.run", "Main", "https://api.routing.run/v1")
    english = Config(accounts=(account,))
    controller = make_controller(FakeEngine([account]), config=english, clock=lambda: NOW)
    qtbot.addWidget(controller.panel)
    controller.on_snapshot(make_snapshot("main"))
    menu = [action.text() for action in controller.tray.contextMenu().actions() if action.text()]
    assert menu[:2] == ["Show usage…", "Kill all streams"]

    controller.apply_config(replace(english, settings=Settings(language="de")))
    assert current_language() == "de"
    menu = [action.text() for action in controller.tray.contextMenu().actions() if action.text()]
    assert menu[:2] == ["Verbrauch anzeigen …", "Alle Streams stoppen"]
    assert menu[2].startswith("Main – 420 Anfragen in dieser Stunde übrig · OK")
    assert menu[-1] == "Traywidget beenden"
    assert controller.tray.primary_icon().toolTip() == (
        "Symbol: Main (routing.run) – 420 Anfragen in dieser Stunde übrig, wird um 12:23 zurückgesetzt · OK")
    panel = controller.panel
    assert panel.windowTitle() == "Verbrauch"
    assert [panel.refresh_button.text(), panel.settings_button.text()] == ["Aktualisieren", "Einstellungen …"]
    assert panel.welcome.add_button.text() == "Erstes Konto hinzufügen"
    row = panel.cards["main"].rows[0]
    assert (row.title.full_text(), row.value.text(), row.percent.text()) == (
        "Anfragen in dieser Stunde", "420 / 500", "84\u00a0% übrig")

    controller.apply_config(english)
    assert current_language() == "en"
    assert panel.refresh_button.text() == "Refresh"
    assert (row.title.full_text(), row.percent.text()) == ("Requests this hour", "84% left")
