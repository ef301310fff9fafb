"""Settings: accounts saved as they are edited, the keyring checked on opening, options saved by Save."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtWidgets import QDialog, QMessageBox

from tests.ui.conftest import NOW, FakeEngine, make_controller, make_snapshot
from traywidget.model import REQUESTS_HOUR, Account, SecretStoreError
from traywidget.present.pace import PACE
from traywidget.store.config import Config, ConfigStore, Settings
from traywidget.store.history import HistoryStore
from traywidget.store.keyring_check import KeyringState, KeyringStatus
from traywidget.store.secrets import MemorySecretStore
from traywidget.ui.account_editor import SAVED_PLACEHOLDER, AccountEditor
from traywidget.ui.controller import AppController
from traywidget.ui.settings import KEYRING_PROBLEMS, SettingsDialog

KEY = "sk-rr-SECRET-0123456789abcdef"
MGMT = "mgmt-SECRET-fedcba9876543210"


@pytest.fixture
def store(tmp_path):
    return ConfigStore(tmp_path / "config")


@pytest.fixture
def dialog(qtbot, store, engine, bridge):
    d = SettingsDialog(store, MemorySecretStore(), tester=engine.test_connection, ask=bridge.ask)
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


def shown_texts(dialog: QDialog) -> list[str]:
    """Every text a person could see or copy from the dialog and the dialogs it opened."""
    from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QListWidget, QPushButton

    out = []
    for widget in dialog.findChildren(QLabel) + dialog.findChildren(QPushButton):
        out += [widget.text(), widget.toolTip()]
    for widget in dialog.findChildren(QLineEdit):
        out.append(widget.placeholderText())
        if widget.echoMode() == QLineEdit.EchoMode.Normal:
            out.append(widget.text())
    for widget in dialog.findChildren(QComboBox):
        out.append(widget.currentText())
    for widget in dialog.findChildren(QListWidget):
        out += [widget.item(row).text() for row in range(widget.count())]
    return [text for text in out if text]


def test_add_edit_remove_each_saved_at_once(qtbot, dialog, store):
    saved = []
    dialog.saved.connect(saved.append)
    editor = dialog.add_account()
    assert editor.isVisible() and editor.windowTitle() == "Add account"
    assert editor.base_url.text() == "https://api.routing.run/v1"  # the provider's default, prefilled
    editor.provider.setCurrentIndex(editor.provider.findData("openrouter"))
    assert editor.base_url.text() == "https://openrouter.ai/api/v1"
    fill(editor, provider="openrouter", mgmt=MGMT)
    assert editor.try_accept()
    # the account dialog's Save saved: config and keys, no second Save needed
    assert [a.id for a in store.load().accounts] == ["work"]
    assert dialog.secrets.get("work") == KEY and dialog.secrets.get("work", True) == MGMT
    assert [c.accounts for c in saved] == [store.load().accounts]
    assert not editor.isVisible() and editor.api_key.text() == ""
    assert dialog.accounts.item(0).text() == "Work  —  OpenRouter  (work)"
    # keys are nowhere in the UI, nor in the config file
    assert not any(KEY in t or MGMT in t for t in shown_texts(dialog))
    assert KEY not in store.path.read_text()

    # edit: the saved key is never loaded into the field; an empty field keeps it
    dialog2 = SettingsDialog(store, dialog.secrets)
    qtbot.addWidget(dialog2)
    dialog2.accounts.setCurrentRow(0)
    ed = dialog2.edit_account()
    assert ed.windowTitle() == "Edit account"
    assert ed.api_key.text() == "" and ed.api_key.placeholderText() == SAVED_PLACEHOLDER
    assert ed.management_key.placeholderText() == SAVED_PLACEHOLDER
    assert ed.account_id.isReadOnly()
    ed.label.setText("Work (renamed)")
    assert ed.try_accept()
    assert store.load().account("work").label == "Work (renamed)"
    assert dialog2.secrets.get("work") == KEY

    # remove: asked first; Cancel keeps it, Remove deletes the account and its keys
    dialog2.remove_account()
    dialog2.remove_box.button(QMessageBox.StandardButton.Cancel).click()
    assert [a.id for a in store.load().accounts] == ["work"]
    dialog2.remove_account()
    assert "Remove Work (renamed) and delete its keys" in dialog2.remove_box.text()
    remove = next(b for b in dialog2.remove_box.buttons() if b.text() == "Remove")
    remove.click()
    assert store.load().accounts == ()
    assert dialog2.secrets.get("work") is None and dialog2.secrets.get("work", True) is None
    assert dialog2.accounts.count() == 0 and not dialog2.remove_button.isEnabled()


def test_a_refusing_keyring_loses_nothing(qtbot, store):
    class RefusingStore(MemorySecretStore):
        def set(self, *args, **kwargs):
            raise SecretStoreError("Could not save the key of account 'work' in the keyring (LockedException).")

    d = SettingsDialog(store, RefusingStore())
    qtbot.addWidget(d)
    editor = d.add_account()
    fill(editor)
    assert not editor.try_accept()
    assert editor.isVisible()
    assert editor.error.text() == "Could not save the key of account 'work' in the keyring (LockedException)."
    assert not store.path.exists()  # config untouched
    assert editor.api_key.text() == KEY  # still typed in, for another try
    assert not any(KEY in t for t in shown_texts(d))


@pytest.mark.parametrize("state", [KeyringState.NO_KEYRING, KeyringState.LOCKED, KeyringState.REFUSED,
                                   KeyringState.PLAINTEXT, KeyringState.FAILED])
def test_the_keyring_is_checked_when_settings_open(qtbot, store, bridge, state):
    checks = []

    def check():
        checks.append(state)
        return KeyringStatus(state, "SecretService.Keyring", "not shown")

    d = SettingsDialog(store, MemorySecretStore(), ask=bridge.ask, keyring_check=check)
    qtbot.addWidget(d)
    assert checks == [state] and bridge.asked == ["keyring-check"]
    assert d.keyring_label.text() == KEYRING_PROBLEMS[state] and not d.keyring_box.isHidden()
    # the account dialog says it too, before anything is typed
    editor = d.add_account()
    assert editor.keyring_banner.text() == KEYRING_PROBLEMS[state] and not editor.keyring_banner.isHidden()
    editor.close()


def test_the_three_keyring_problems_read_differently():
    texts = {KEYRING_PROBLEMS[s] for s in (KeyringState.NO_KEYRING, KeyringState.LOCKED, KeyringState.REFUSED)}
    assert len(texts) == 3
    assert "no keyring was found" in KEYRING_PROBLEMS[KeyringState.NO_KEYRING]
    assert "is locked" in KEYRING_PROBLEMS[KeyringState.LOCKED]
    assert "unlock prompt was dismissed" in KEYRING_PROBLEMS[KeyringState.REFUSED]


def test_a_usable_keyring_says_nothing_and_check_again_works(qtbot, store, bridge):
    answers = [KeyringStatus(KeyringState.LOCKED, "SecretService", ""), KeyringStatus(KeyringState.USABLE, "x", "")]
    d = SettingsDialog(store, MemorySecretStore(), ask=bridge.ask, keyring_check=lambda: answers.pop(0))
    qtbot.addWidget(d)
    assert not d.keyring_box.isHidden()
    d.keyring_again.click()
    assert d.keyring_box.isHidden() and d.keyring_problem is None


def test_thresholds_cadence_pace_autostart(qtbot, store):
    calls = []
    d = SettingsDialog(store, MemorySecretStore(), autostart=calls.append, autostart_enabled=lambda: False)
    qtbot.addWidget(d)
    saved = []
    d.saved.connect(saved.append)
    assert not d.pace_alerts.isChecked()  # off by default
    d.low_pct.setValue(30)
    d.critical_pct.setValue(10)
    d.fast_s.setValue(30)
    d.full_s.setValue(120)
    d.icon_per_account.setChecked(True)
    d.pace_alerts.setChecked(True)
    d.start_at_login.setChecked(True)
    assert d.save()
    s = store.load().settings
    assert s.thresholds.levels == (0.30, 0.10)
    assert (s.fast_interval_s, s.full_interval_s, s.icon_per_account, s.pace_alerts) == (30.0, 120.0, True, True)
    assert calls == [True]
    assert saved and saved[0].settings == s
    d2 = SettingsDialog(store, MemorySecretStore())
    qtbot.addWidget(d2)
    assert d2.pace_alerts.isChecked()
    d2.low_pct.setValue(5)
    d2.critical_pct.setValue(10)
    assert not d2.save()
    assert d2.error.text() == "The second warning level must be below the first (e.g. 20 % and 5 %)."


def controller(engine, store, bridge, **parts) -> AppController:
    return make_controller(engine, config_store=store, secrets=MemorySecretStore(), bridge=bridge, **parts)


def test_controller_applies_each_saved_account(qtbot, store, engine, bridge):
    c = controller(engine, store, bridge)
    d = c.open_settings()
    qtbot.addWidget(d)
    editor = d.add_account()
    fill(editor)
    assert editor.try_accept()
    assert ("set_accounts", ["work"]) in engine.calls
    assert engine.calls[-1] == "refresh_now"
    assert [a.id for a in c.config.accounts] == ["work"]
    assert set(c.panel.cards) == {"work"} and c.panel.welcome.isHidden()


def test_first_run_opens_the_welcome_and_its_button_the_account_dialog(qtbot, store, engine, bridge):
    c = controller(engine, store, bridge)
    qtbot.addWidget(c.panel)
    assert not c.show()  # offscreen: no tray, the panel is the window
    assert c.panel.isVisible() and not c.panel.welcome.isHidden()
    c.panel.welcome.add_button.click()
    assert c.settings_dialog is not None and c.settings_dialog.isVisible()
    editor = c.settings_dialog.editor
    assert editor is not None and editor.isVisible() and editor.windowTitle() == "Add account"
    qtbot.addWidget(c.settings_dialog)


def test_a_corrupt_config_is_told_at_the_panels_top(qtbot, store, engine, bridge):
    store.directory.mkdir(parents=True)
    store.path.write_text("{not json")
    config = store.load()
    c = controller(engine, store, bridge, config=config)
    qtbot.addWidget(c.panel)
    c.show()
    assert c.panel.notice_text.text() == config.warnings[0]
    assert "could not be read" in config.warnings[0] and not c.panel.notice.isHidden()
    assert c.panel.notice.geometry().top() < c.panel.cards_area.geometry().top()


def test_pace_alert_through_the_controller(qtbot, store, bridge, tmp_path):
    engine = FakeEngine()
    alerts = []
    with HistoryStore(tmp_path / "history") as history:
        # 100 requests every 5 minutes: at 12:00, 100 left run out at 12:05, before the 12:23 reset
        history.add_samples([("main", REQUESTS_HOUR, (NOW - timedelta(minutes=5 * i)).timestamp(), 100 + 100 * i,
                              1000) for i in range(1, 5)])
        config = Config(accounts=(Account("main", "routing.run", "Main", "https://api.routing.run/v1"),))
        c = controller(engine, store, bridge, config=config, history=history, clock=lambda: NOW)
        qtbot.addWidget(c.panel)
        c.notifier.shown.connect(alerts.append)
        engine.publish(make_snapshot("main", hour=(100, 1000)))
        assert [a for a in alerts if a.kind == PACE] == []  # off by default
        c.apply_config(Config(accounts=config.accounts, settings=Settings(pace_alerts=True)))
        engine.publish(make_snapshot("main", hour=(100, 1000)))
        engine.publish(make_snapshot("main", hour=(95, 1000)))
        assert [a.title for a in alerts if a.kind == PACE] == ["Main: will run out before it resets"]


def test_saving_keeps_what_another_process_saved_meanwhile(dialog, store):
    """The dialog was opened on an empty config; `traywidget accounts add` then added an account. Adding one
    here, saving the options and removing the new one each edit the file as it is now: "cli" stays."""
    ConfigStore(store.directory).update(
        lambda c: c.with_account(Account("cli", "openrouter", "From the CLI", "https://openrouter.ai/api/v1")))
    dialog.commit_account(Account("gui", "routing.run", "Work", "https://api.routing.run/v1"), KEY, None)
    assert [a.id for a in store.load().accounts] == ["cli", "gui"]
    dialog.notifications.setChecked(False)
    assert dialog.save()
    saved = store.load()
    assert [a.id for a in saved.accounts] == ["cli", "gui"] and saved.settings.notifications is False
    dialog._remove_answered("gui", True)
    assert [a.id for a in store.load().accounts] == ["cli"]


def test_metrics_switch_and_the_hooks_shown_and_kept_on_save(qtbot, store):
    from traywidget.desktop.hooks import command_hook, url_hook

    slack, _ = url_hook("https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX")
    ntfy = command_hook("notify-send traywidget")
    store.save(Config(settings=Settings(hooks=(slack, ntfy))))
    d = SettingsDialog(store, MemorySecretStore())
    qtbot.addWidget(d)
    assert not d.metrics_enabled.isChecked()  # off by default
    assert [d.hooks_list.item(row).text() for row in range(d.hooks_list.count())] == [
        "1. POST to https://hooks.slack.com/…", "2. Run notify-send traywidget"]
    assert not [text for text in shown_texts(d) if "XXXX" in text]  # the webhook's secret path is never shown
    d.metrics_enabled.setChecked(True)
    assert d.save()
    s = store.load().settings
    assert s.metrics_enabled is True and s.hooks == (slack, ntfy)
    empty = SettingsDialog(ConfigStore(store.directory / "other"), MemorySecretStore())
    qtbot.addWidget(empty)
    assert empty.hooks_list.isHidden()


@pytest.mark.slow
def test_the_controller_sends_what_passed_the_alert_policy_and_the_kill_summary_to_the_hooks(qtbot, store, bridge,
                                                                                          tmp_path):
    """As the app wires it: the hooks on a loop thread of their own (the engine's, in the app), fed by
    the controller right after the notifications, with the same alerts."""
    import json
    import sys

    from traywidget.desktop.hooks import HookRunner, command_hook
    from traywidget.engine.loop_thread import LoopThread

    received = tmp_path / "events.jsonl"
    script = f"import sys; open({str(received)!r}, 'a').write(sys.stdin.read() + '\\n')"
    hook = command_hook(f"{sys.executable} -c {json.dumps(script)}")
    config = Config(accounts=(Account("main", "routing.run", "Main", "https://api.routing.run/v1"),),
                    settings=Settings(hooks=(hook,)))
    store.save(config)
    engine = FakeEngine()
    thread = LoopThread("hooks-test")
    thread.start()
    try:
        c = controller(engine, store, bridge, config=config, clock=lambda: NOW)
        qtbot.addWidget(c.panel)
        shown = []
        c.notifier.shown.connect(shown.append)
        c.attach_hooks(HookRunner(thread.loop, MemorySecretStore()))
        for _ in range(3):  # told once, however often the same reading comes
            engine.publish(make_snapshot("main", hour=(0, 500)))
        c.kill_all()
        qtbot.waitUntil(lambda: received.exists() and len(received.read_text().splitlines()) == 2, timeout=10000)
    finally:
        thread.stop()
    events = sorted((json.loads(line) for line in received.read_text().splitlines()), key=lambda e: e["event"])
    assert [(e["event"], e["account"], e["window"], e["remaining"], e["limit"]) for e in events] == [
        ("exhausted", "main", "requests_hour", 0, 500), ("kill_result", None, None, None, None)]
    assert [a.kind for a in shown if a.kind == "exhausted"] == ["exhausted"]
    assert events[0]["message"].startswith("Main: 0 requests left this hour")


def test_a_long_check_box_text_wraps_and_a_click_on_it_toggles(qtbot, dialog):
    from PySide6.QtCore import Qt

    from traywidget.ui.settings import WrappingCheck

    row = dialog.pace_alerts.parentWidget()
    assert isinstance(row, WrappingCheck) and row.label.wordWrap()
    assert row.label.text() == "Warn when a window will run out before it resets (an estimate)"
    dialog.show()
    qtbot.waitExposed(dialog)
    before = dialog.pace_alerts.isChecked()
    qtbot.mouseClick(row.label, Qt.MouseButton.LeftButton)
    assert dialog.pace_alerts.isChecked() is not before


def test_the_wheel_scrolls_the_page_and_never_changes_a_field_it_passes_over(qtbot, dialog):
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    dialog.resize(dialog.width(), 300)  # too short for everything: the page scrolls
    dialog.show()
    qtbot.waitExposed(dialog)
    port = dialog.gateway_port
    before = port.value()

    def wheel_over(widget) -> None:
        centre = QPointF(widget.rect().center())
        event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, -120),
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                            False)
        QApplication.sendEvent(widget, event)

    scrolled = dialog.body.verticalScrollBar().value()
    wheel_over(port)
    assert port.value() == before  # not focused: the field stays as it was
    assert dialog.body.verticalScrollBar().value() > scrolled  # the page moved instead
    port.setFocus()
    qtbot.waitUntil(port.hasFocus)
    wheel_over(port)
    assert port.value() == before - 1  # clicked into, it takes the wheel
