"""Settings: add / edit / remove accounts with a memory secret store and a temp config dir."""

from __future__ import annotations

import pytest

from tests.ui.conftest import make_snapshot
from traywidget.core.config import ConfigStore
from traywidget.core.secrets import MemorySecretStore
from traywidget.model import Account, ErrorInfo, SecretStoreError, State
from traywidget.ui.settings import SAVED_PLACEHOLDER, AccountEditor, SettingsDialog

KEY = "sk-rr-SECRET-0123456789abcdef"
MGMT = "mgmt-SECRET-fedcba9876543210"


@pytest.fixture
def store(tmp_path):
    return ConfigStore(tmp_path / "config")


@pytest.fixture
def dialog(qtbot, store, engine, runner):
    secrets = MemorySecretStore()
    d = SettingsDialog(store, secrets, tester=engine.test_connection, spawn=runner.run_with_callback)
    qtbot.addWidget(d)
    return d


def fill(editor: AccountEditor, *, provider="routing.run", label="Work", url=None, key=KEY, mgmt=""):
    editor.provider.setCurrentIndex(editor.provider.findData(provider))
    editor.label.setText(label)
    editor._suggest_id(label)
    if url is not None:
        editor.base_url.setText(url)
    editor.api_key.setText(key)
    editor.management_key.setText(mgmt)


def test_add_edit_remove_roundtrip(dialog, store):
    editor = dialog.make_editor(None)
    assert editor.base_url.text() == "https://api.routing.run/v1"  # the provider's default, prefilled
    editor.provider.setCurrentIndex(editor.provider.findData("openrouter"))
    assert editor.base_url.text() == "https://openrouter.ai/api/v1"
    fill(editor, mgmt=MGMT)
    editor.try_accept()
    assert dialog.add_account(editor).id == "work"
    assert dialog.save()
    config = store.load()
    assert [a.id for a in config.accounts] == ["work"]
    assert dialog.secrets.get("work") == KEY and dialog.secrets.get("work", True) == MGMT
    # keys are nowhere in the UI, nor in the config file
    assert not any(KEY in t or MGMT in t for t in dialog.texts())
    assert KEY not in store.path.read_text()

    # edit: the saved key is never loaded into the field
    dialog2 = SettingsDialog(store, dialog.secrets)
    dialog2.accounts.setCurrentRow(0)
    ed = dialog2.make_editor(store.load().account("work"))
    assert ed.api_key.text() == "" and ed.api_key.placeholderText() == SAVED_PLACEHOLDER
    assert ed.management_key.placeholderText() == SAVED_PLACEHOLDER
    assert ed.account_id.isReadOnly()
    ed.label.setText("Work (renamed)")
    ed.try_accept()
    dialog2.edit_account(ed)
    assert dialog2.save()
    assert store.load().account("work").label == "Work (renamed)"
    assert dialog2.secrets.get("work") == KEY  # empty field kept the saved key

    dialog3 = SettingsDialog(store, dialog.secrets)
    dialog3.accounts.setCurrentRow(0)
    dialog3.remove_account()
    assert dialog3.save()
    assert store.load().accounts == ()
    assert dialog3.secrets.get("work") is None and dialog3.secrets.get("work", True) is None


@pytest.mark.parametrize("url,key,message", [
    ("not a url", KEY, "Not a web address"),
    ("http://api.example.com/v1", KEY, "Plain http is refused"),
    ("https://api.routing.run/v1", "", "The API key is empty"),
])
def test_validation_messages(dialog, url, key, message):
    editor = dialog.make_editor(None)
    fill(editor, url=url, key=key)
    editor.try_accept()
    assert editor.result_account is None
    assert message in editor.error.text() and not editor.error.isHidden()


def test_loopback_http_allowed_and_duplicate_id_refused(dialog):
    editor = dialog.make_editor(None)
    fill(editor, url="http://127.0.0.1:8080/v1")
    editor.account_id.setText("dup")
    editor.try_accept()
    dialog.add_account(editor)
    editor2 = dialog.make_editor(None)
    fill(editor2)
    editor2.account_id.setText("dup")
    editor2.try_accept()
    assert "already exists" in editor2.error.text()


def test_keyring_error_is_shown_and_nothing_lost(qtbot, store):
    class BrokenStore(MemorySecretStore):
        def set(self, *a, **k):
            raise SecretStoreError("No usable keyring was found.")

    d = SettingsDialog(store, BrokenStore())
    qtbot.addWidget(d)
    editor = d.make_editor(None)
    fill(editor)
    editor.try_accept()
    d.add_account(editor)
    assert not d.save()
    assert "No usable keyring" in d.error.text()
    assert not store.path.exists()  # config untouched
    assert [a.id for a in d.config.accounts] == ["work"]  # still in the dialog
    assert d._pending_keys  # the typed key is kept for another try
    assert not any(KEY in t for t in d.texts())


def test_test_connection_shows_provider_answer(dialog, engine):
    editor = dialog.make_editor(None)
    fill(editor)
    engine.test_result = make_snapshot("work", hour=(420, 500))
    editor.test_connection()
    assert engine.calls[-1] == ("test_connection", "work", True, False)
    assert "Connected" in editor.test_result.text() and "420 / 500" in editor.test_result.text()
    engine.test_result = make_snapshot("work", hour=None, state=State.AUTH_ERROR,
                                       error=ErrorInfo("Invalid API key", 401))
    editor.test_connection()
    assert "Failed" in editor.test_result.text() and "Invalid API key" in editor.test_result.text()
    assert KEY not in editor.test_result.text()


def test_thresholds_cadence_autostart(qtbot, store):
    calls = []
    d = SettingsDialog(store, MemorySecretStore(), autostart=calls.append, autostart_enabled=lambda: False)
    qtbot.addWidget(d)
    saved = []
    d.saved.connect(saved.append)
    d.low_pct.setValue(30)
    d.critical_pct.setValue(10)
    d.fast_s.setValue(30)
    d.full_s.setValue(120)
    d.icon_per_account.setChecked(True)
    d.start_at_login.setChecked(True)
    assert d.save()
    s = store.load().settings
    assert s.thresholds.levels == (0.30, 0.10)
    assert (s.fast_interval_s, s.full_interval_s, s.icon_per_account) == (30.0, 120.0, True)
    assert calls == [True]
    assert saved and saved[0].settings == s
    d2 = SettingsDialog(store, MemorySecretStore())
    qtbot.addWidget(d2)
    d2.low_pct.setValue(5)
    d2.critical_pct.setValue(10)
    assert not d2.save()
    assert "must be below" in d2.error.text()


def test_controller_applies_saved_settings(qtbot, store, engine, runner):
    from tests.ui.conftest import make_controller

    c = make_controller(engine, config_store=store, secrets=MemorySecretStore(), runner=runner)
    d = c.open_settings()
    qtbot.addWidget(d)
    editor = d.make_editor(None)
    fill(editor)
    editor.try_accept()
    d.add_account(editor)
    assert d.save()
    assert ("set_accounts", ["work"]) in engine.calls
    assert engine.calls[-1] == "refresh_now"
    assert [a.id for a in c.config.accounts] == ["work"]
    _ = Account  # noqa
