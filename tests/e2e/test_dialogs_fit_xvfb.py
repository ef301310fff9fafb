"""Settings and the account dialog on a real (virtual) X server at the small screens people have: 1280x720
at 1x and 2x, 1366x768. Every top-level window lies within the screen's available geometry and every
button of it is visible inside it — with five accounts, a 60-character label, the keyring banner, the base
URL advice and an error shown (the tallest they get), and in German (the longest words)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_tools
from tests.desktop_session import REPO, xvfb

pytestmark = [pytest.mark.desktop, pytest.mark.slow]

DIALOGS = r"""
import json, sys, tempfile
from pathlib import Path
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QMessageBox
app = QApplication(["traywidget"])
from traywidget.ui.language import speak
speak(None)  # the app's own start: traywidget's catalog and Qt's (Cancel, Discard)
from traywidget.store.config import Config, ConfigStore
from traywidget.store.keyring_check import KeyringState, KeyringStatus
from traywidget.store.secrets import MemorySecretStore
from traywidget.model import Account
from traywidget.ui.settings import SettingsDialog

if sys.argv[2] == "dark":
    palette = QPalette()
    for role, colour in ((QPalette.ColorRole.Window, "#2b2b2b"), (QPalette.ColorRole.WindowText, "#eeeeee"),
                         (QPalette.ColorRole.Base, "#1e1e1e"), (QPalette.ColorRole.Text, "#eeeeee"),
                         (QPalette.ColorRole.Button, "#3a3a3a"), (QPalette.ColorRole.ButtonText, "#eeeeee")):
        palette.setColor(role, QColor(colour))
    app.setPalette(palette)
labels = ["Team research account for the evaluation of long contexts 01", "Main", "Router", "Spare", "Night jobs"]
accounts = tuple(Account(id=f"acct{i}", provider=("routing.run", "openrouter", "routeway")[i % 3], label=label,
                         base_url=("https://api.routing.run/v1", "https://openrouter.ai/api/v1",
                                   "https://api.routeway.ai/v1")[i % 3]) for i, label in enumerate(labels))
store = ConfigStore(Path(tempfile.mkdtemp()))
store.save(Config(accounts=accounts))
dialog = SettingsDialog(store, MemorySecretStore(), pin_choices=[(a.id, a.label) for a in accounts])
dialog.show()
dialog._keyring_checked(KeyringStatus(KeyringState.LOCKED, "SecretService", "locked"), None)
dialog.show_error("The config file could not be read. It was kept as config.json.corrupt-20250601T120000.")
dialog.accounts.setCurrentRow(0)
editor = dialog.edit_account()
editor.base_url.setText("https://api.routeway.ai")  # another provider's host: the advice shows, with its fix
editor.show_error("An account with id acct0 already exists: choose another id.")
for _ in range(5):
    app.processEvents()
if sys.argv[1] == "-":  # checking, not photographing: the question Save account asks for another's host too
    editor.provider.setCurrentIndex(editor.provider.findData("openrouter"))
    editor.api_key.setText("sk-or-v1-" + "0" * 64)
    editor.try_accept()
    for _ in range(5):
        app.processEvents()

rect = lambda r: [r.x(), r.y(), r.width(), r.height()]
windows = []
for window in (dialog, editor, *([editor.other_host_box] if editor.other_host_box else [])):
    buttons = window.buttons() if isinstance(window, QMessageBox) else window.buttons.buttons()
    windows.append({
        "title": window.windowTitle(), "frame": rect(window.frameGeometry()),
        "buttons": {b.text(): rect(QRect(b.mapToGlobal(QPoint(0, 0)), b.size())) for b in buttons},
        "visible": all(b.isVisible() for b in buttons),
        "enabled": [b.text() for b in buttons if b.isEnabled()],
        # The fields are not cut at the right: they fit the scroll area's width (no sideways scrolling).
        "fields_fit": isinstance(window, QMessageBox) or window.body.widget().width() <= window.body.viewport().width(),
    })
others = [w.windowTitle() for w in app.topLevelWidgets()
          if w.isVisible() and w not in (dialog, editor, editor.other_host_box)]
screen = dialog.screen()
print(json.dumps({"ratio": dialog.devicePixelRatio(), "available": rect(screen.availableGeometry()),
                  "windows": windows, "others": others}))
if sys.argv[1] != "-":
    screen.grabWindow(0).save(sys.argv[1])
    editor.hide()  # Settings alone, as it is before an account is edited
    app.processEvents()
    screen.grabWindow(0).save(sys.argv[1].replace(".png", "-settings.png"))
"""


def inside(inner: list[int], outer: list[int]) -> bool:
    return (inner[0] >= outer[0] and inner[1] >= outer[1] and inner[0] + inner[2] <= outer[0] + outer[2]
            and inner[1] + inner[3] <= outer[1] + outer[3])


def run_dialogs(tmp_path: Path, size: str, scale: str, *, language: str = "en", theme: str = "light",
                shot: Path | None = None) -> dict:
    require_tools("Xvfb")
    with xvfb({"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, size=f"{size}x24") as env:
        env = {**env, "QT_SCALE_FACTOR": scale, "PYTHONPATH": str(REPO), "LANGUAGE": language,
               "XDG_CONFIG_HOME": str(tmp_path / "config")}
        proc = subprocess.run([sys.executable, "-c", DIALOGS, str(shot) if shot else "-", theme], env=env,
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.mark.parametrize("size,scale,language", [
    ("1280x720", "1", "en"),
    ("1280x720", "2", "en"),
    ("1280x720", "2", "de"),
    ("1366x768", "1", "en"),
    ("1366x768", "1", "de"),
])
def test_settings_and_the_account_dialog_fit_with_every_button_visible(tmp_path, size, scale, language):
    result = run_dialogs(tmp_path, size, scale, language=language)
    width, height = (int(n) // int(scale) for n in size.split("x"))
    assert result["ratio"] == float(scale) and result["available"] == [0, 0, width, height]
    assert result["others"] == []  # no other window (a message box, a stray top-level) opened
    settings, editor, question = result["windows"]
    assert question["title"] == ("Diesen Schlüssel an einen anderen Anbieter senden?" if language == "de"
                                 else "Send this key to another provider?")
    for window in result["windows"]:
        assert inside(window["frame"], result["available"]), window
        assert window["visible"] and window["fields_fit"], window
        for name, button in window["buttons"].items():
            assert inside(button, window["frame"]), (name, button, window)
    save_settings = "Einstellungen speichern" if language == "de" else "Save settings"
    save_account = "Konto speichern" if language == "de" else "Save account"
    cancel = "Abbrechen" if language == "de" else "Cancel"
    assert list(settings["buttons"]) == [save_settings, cancel] and list(editor["buttons"]) == [save_account, cancel]
    # One Save at a time: while the account dialog is open, Settings' buttons cannot be pressed.
    assert settings["enabled"] == [] and save_account in editor["enabled"]
