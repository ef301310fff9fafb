"""The account dialog: one-step save, "discard changes?", base-URL advice, a key pasted as a URL, and
Test connection against the real engine and the loopback simulator."""

from __future__ import annotations

import asyncio
import socket

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QLineEdit, QMessageBox, QPushButton

from traywidget.engine.engine import Engine
from traywidget.model import Account, ConfigError
from traywidget.providers import get_provider
from traywidget.store.account_fields import KEY_IN_URL_MESSAGE
from traywidget.store.secrets import MemorySecretStore
from traywidget.ui.account_editor import AccountEditor
from traywidget.ui.bridge import InlineBridge

KEY = "rk_" + "0123456789abcdef" * 4


class Saved:
    """The commit the settings dialog gives the editor, recording what it was asked to save."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[tuple[Account, str | None, str | None]] = []
        self.error = error

    def __call__(self, account, api_key, management_key) -> None:
        if self.error is not None:
            raise self.error
        self.calls.append((account, api_key, management_key))


async def real_tester(account: Account, api_key: str, management_key: str | None):
    """The engine's own Test connection, with a client of its own (each InlineBridge ask has its own loop)."""
    engine = Engine([], MemorySecretStore())
    try:
        return await engine.test_connection(account, api_key, management_key)
    finally:
        await engine.stop()


def make_editor(qtbot, *, existing=None, commit=None, ask=None, tester=real_tester, **kwargs) -> AccountEditor:
    editor = AccountEditor(existing=existing, taken_ids=set(), commit=commit or Saved(), tester=tester,
                           ask=ask or InlineBridge().ask, **kwargs)
    qtbot.addWidget(editor)
    editor.show()
    return editor


def every_text(editor: AccountEditor) -> list[str]:
    texts = [w.text() for w in editor.findChildren(QLabel) + editor.findChildren(QPushButton)]
    texts += [w.toolTip() for w in editor.findChildren(QLabel)]
    texts += [w.text() for w in editor.findChildren(QLineEdit) if w.echoMode() == QLineEdit.EchoMode.Normal]
    return texts


def test_save_is_one_step(qtbot):
    commit = Saved()
    editor = make_editor(qtbot, commit=commit)
    saved = []
    editor.saved.connect(saved.append)
    editor.label.setText("Work")
    editor._suggest_id("Work")
    editor.api_key.setText(KEY)
    editor.management_key.setText("  ")
    assert editor.try_accept()
    account = Account("work", "routing.run", "Work", "https://api.routing.run/v1")
    assert commit.calls == [(account, KEY, None)] and saved == [account]
    assert not editor.isVisible() and editor.api_key.text() == ""


def test_another_providers_host_is_saved_only_once_confirmed(qtbot):
    commit = Saved()
    editor = make_editor(qtbot, commit=commit)
    editor.provider.setCurrentIndex(editor.provider.findData("openrouter"))
    editor.label.setText("Work")
    editor._suggest_id("Work")
    editor.base_url.setText("https://api.routeway.ai/v1")
    editor.api_key.setText(KEY)
    assert not editor.try_accept()
    box = editor.other_host_box
    assert box.isVisible() and box.windowTitle() == "Send this key to another provider?"
    assert box.text() == ("api.routeway.ai is the API host of Routeway, not of OpenRouter: your OpenRouter key "
                          "would be sent to Routeway.")
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert commit.calls == [] and editor.isVisible() and editor.api_key.text() == KEY  # nothing lost
    editor.try_accept()
    keep = next(b for b in editor.other_host_box.buttons() if b.text() == "Save with this URL")
    keep.click()
    assert commit.calls == [(Account("work", "openrouter", "Work", "https://api.routeway.ai/v1"), KEY, None)]
    assert not editor.isVisible()


def test_a_failed_save_keeps_everything(qtbot):
    refusal = ConfigError("Cannot save /x/config.json: disk full. Nothing was changed.")
    editor = make_editor(qtbot, commit=Saved(refusal))
    editor.label.setText("Work")
    editor._suggest_id("Work")
    editor.api_key.setText(KEY)
    assert not editor.try_accept()
    assert editor.isVisible() and editor.api_key.text() == KEY
    assert editor.error.text() == "Cannot save /x/config.json: disk full. Nothing was changed."


def test_closing_with_unsaved_edits_asks(qtbot):
    editor = make_editor(qtbot)
    editor.reject()  # nothing typed: closes at once
    assert not editor.isVisible() and editor.discard_box is None

    editor = make_editor(qtbot)
    editor.api_key.setText(KEY)
    editor.close()  # the window's close button
    box = editor.discard_box
    assert box is not None and box.isVisible() and editor.isVisible()
    assert (box.text(), box.button(QMessageBox.StandardButton.Cancel).text()) == (
        "This account has changes that are not saved. Discard them?", "Keep editing")
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert editor.isVisible() and editor.api_key.text() == KEY
    editor.reject()  # Cancel or Esc
    editor.discard_box.button(QMessageBox.StandardButton.Discard).click()
    assert not editor.isVisible() and editor.api_key.text() == ""


def test_editing_without_changes_closes_quietly(qtbot):
    existing = Account("work", "openrouter", "Work", "https://openrouter.ai/api/v1")
    editor = make_editor(qtbot, existing=existing)
    assert not editor.has_unsaved_changes()
    editor.label.setText("Work 2")
    assert editor.has_unsaved_changes()
    editor.label.setText("Work")
    editor.reject()
    assert not editor.isVisible() and editor.discard_box is None


@pytest.mark.parametrize("provider,url,advice,fixed", [
    ("routing.run", "https://routing.run/v1",
     "routing.run is not an API host of routing.run (expected api.routing.run, api.routing.sh, ai.routing.sh); "
     "your key would be sent to it.", "https://api.routing.run/v1"),
    ("routing.run", "https://api.routing.sh", "routing.run base URLs end in /v1 (expected https://api.routing.sh/v1).",
     "https://api.routing.sh/v1"),
    ("openrouter", "https://openrouter.ai/v1",
     "OpenRouter base URLs end in /api/v1 (expected https://openrouter.ai/api/v1).", "https://openrouter.ai/api/v1"),
    ("routeway", "https://api.routeway.ai/v1/chat/completions",
     "Routeway base URLs end in /v1 (expected https://api.routeway.ai/v1).", "https://api.routeway.ai/v1"),
    ("openrouter", "https://api.routing.run/v1",
     "api.routing.run is the API host of routing.run, not of OpenRouter: your OpenRouter key would be sent to "
     "routing.run.", "https://openrouter.ai/api/v1"),
])
def test_base_url_advice_with_its_fix(qtbot, provider, url, advice, fixed):
    editor = make_editor(qtbot)
    editor.provider.setCurrentIndex(editor.provider.findData(provider))
    editor.base_url.setText(url)
    assert editor.url_advice.text() == advice and editor.url_advice_box.isVisible()
    assert editor.url_fix.text() == f"Use {fixed}"
    qtbot.waitUntil(lambda: editor.url_advice.height() > 0)
    label = editor.url_advice  # the whole message is shown, not cut off at the bottom
    assert label.heightForWidth(label.width()) <= label.height()
    assert editor.rect().contains(QRect(editor.url_fix.mapTo(editor, QPoint(0, 0)), editor.url_fix.size()))
    editor.url_fix.click()
    assert editor.base_url.text() == fixed and not editor.url_advice_box.isVisible()


@pytest.mark.parametrize("provider,url", [
    ("routing.run", "https://api.routing.run/v1"), ("routing.run", "https://ai.routing.sh/v1"),
    ("routing.run", "https://api.routing.sh/v1/"), ("openrouter", "https://openrouter.ai/api/v1"),
    ("routeway", "https://api.routeway.ai/v1"), ("routing.run", "http://127.0.0.1:8123/routing.run/v1"),
])
def test_right_base_urls_get_no_advice(qtbot, provider, url):
    editor = make_editor(qtbot)
    editor.provider.setCurrentIndex(editor.provider.findData(provider))
    editor.base_url.setText(url)
    assert not editor.url_advice_box.isVisible()


@pytest.mark.parametrize("key", [
    KEY, "sk-or-v1-" + "ab12" * 16, "sk-" + "Ab1" * 16, "clsk-" + "x9" * 12, "rw-" + "Zz7" * 8,
    "q8Vd2LkP0aZx7TnR4mYs9WcE1uJh6GfB",  # a long random token without a prefix
    "https://api.routing.run/v1/" + KEY,
])
def test_a_key_pasted_as_url_is_refused_unseen(qtbot, key):
    editor = make_editor(qtbot)
    editor.base_url.clear()
    QGuiApplication.clipboard().setText(key)
    editor.base_url.paste()
    assert editor.base_url.text() == "" and not editor.base_url.isUndoAvailable()
    assert editor.url_advice.text() == KEY_IN_URL_MESSAGE and editor.url_advice_box.isVisible()
    assert editor.url_fix.text() == "Use https://api.routing.run/v1"
    assert not any(key[-12:] in text for text in every_text(editor))  # not even a piece of it
    QGuiApplication.clipboard().clear()


def test_the_dialog_does_not_jump_while_testing(qtbot, sim):
    held = []

    def held_ask(work, *, name, on_done=None):
        held.append((work, name, on_done))

    editor = make_editor(qtbot, ask=held_ask)
    editor.label.setText("Main")
    editor._suggest_id("Main")
    editor.base_url.setText(sim.url("routing.run"))
    editor.api_key.setText(sim.sim.add_routing_key("Premium"))
    qtbot.waitExposed(editor)
    before = editor.size()
    editor.test_button.click()
    assert editor.test_result.text() == "Testing…" and not editor.test_button.isEnabled()
    assert editor.size() == before
    work, name, on_done = held.pop()
    InlineBridge().ask(work, name=name, on_done=on_done)
    assert editor.test_result.text().startswith("Connected — OK\nPlan: Premium\n")
    assert len(editor.test_result.text().splitlines()) >= 5  # a long answer: it scrolls, the dialog stays
    assert editor.size() == before and editor.test_button.isEnabled()


HINT = ("Test connection checks the key and the base URL with the provider; nothing is saved until you press "
        "Save account.")


@pytest.mark.parametrize("change", ["url", "key", "management key", "provider"])
def test_a_test_result_is_forgotten_when_what_it_tested_changes(qtbot, sim, change):
    editor = make_editor(qtbot)
    editor.label.setText("Main")
    editor._suggest_id("Main")
    editor.base_url.setText(sim.url("routing.run"))
    editor.api_key.setText(sim.sim.add_routing_key("Premium"))
    editor.test_connection()
    assert editor.test_result.text().startswith("Connected — OK\nPlan: Premium\n")
    if change == "url":
        editor.base_url.setText(sim.url("openrouter"))
    elif change == "key":
        editor.api_key.setText("rk_" + "f" * 64)
    elif change == "management key":
        editor.management_key.setText("mgmt-0123456789")
    else:
        editor.provider.setCurrentIndex(editor.provider.findData("routeway"))
    assert editor.test_result.text() == HINT and editor.test_button.isEnabled()


def test_an_answer_that_arrives_after_the_url_changed_is_not_shown(qtbot, sim):
    held = []

    def held_ask(work, *, name, on_done=None):
        held.append((work, name, on_done))

    editor = make_editor(qtbot, ask=held_ask)
    editor.label.setText("Main")
    editor._suggest_id("Main")
    editor.base_url.setText(sim.url("routing.run"))
    editor.api_key.setText(sim.sim.add_routing_key("Premium"))
    editor.test_button.click()
    editor.base_url.setText(sim.url("routing.run") + "/other")
    work, name, on_done = held.pop()
    InlineBridge().ask(work, name=name, on_done=on_done)
    assert editor.test_result.text() == HINT and editor.test_button.isEnabled()


def test_a_404_asks_to_check_the_base_url(qtbot, sim):
    editor = make_editor(qtbot)
    editor.label.setText("Main")
    editor._suggest_id("Main")
    editor.base_url.setText(sim.url("routing.run").removesuffix("/v1") + "/v2")
    key = sim.sim.add_routing_key("Premium")
    editor.api_key.setText(key)
    editor.test_connection()
    lines = editor.test_result.text().splitlines()
    assert lines[0].startswith("Failed — ")
    assert "Not found (404): check the base URL (expected https://api.routing.run/v1)." in lines
    assert key not in editor.test_result.text()


def test_a_host_that_does_not_resolve_is_not_called_offline_blindly(qtbot):
    editor = make_editor(qtbot)
    editor.label.setText("Main")
    editor._suggest_id("Main")
    editor.base_url.setText("https://api.routing-run.invalid/v1")  # .invalid never resolves
    editor.api_key.setText(KEY)
    editor.test_connection()
    text = editor.test_result.text()
    # Whether the known hosts resolve depends on this machine's network: the dialog must tell which it is.
    if any(_resolves(host) for host in get_provider("routing.run").known_hosts):
        assert ("The host api.routing-run.invalid does not exist (its name does not resolve): "
                "check the base URL.") in text
    else:
        assert ("Offline: no host name resolves right now, not even api.routing.run, api.routing.sh, "
                "ai.routing.sh. Check the network connection.") in text


def _resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def test_test_connection_uses_the_saved_key_when_the_field_is_empty(qtbot, sim):
    key = sim.sim.add_routing_key("Lite")
    existing = Account("main", "routing.run", "Main", sim.url("routing.run"))
    lookups = []

    def saved_key(account_id, management):
        lookups.append((account_id, management))
        return None if management else key

    editor = make_editor(qtbot, existing=existing, saved_key_lookup=saved_key)
    editor.test_connection()
    assert lookups == [("main", False), ("main", True)]
    assert editor.test_result.text().startswith("Connected — OK\nPlan: Lite")


@pytest.mark.parametrize("url,key,message", [
    ("not a url", KEY, "Not a web address: 'not a url'. Expected e.g. https://api.routing.run/v1"),
    ("http://api.example.com/v1", KEY, "Plain http is refused for api.example.com: keys are only sent over https "
                                       "(http is allowed for loopback addresses only)."),
    ("https://api.routing.run/v1", "", "The API key is empty: paste the key from the provider's dashboard."),
])
def test_validation_messages(qtbot, url, key, message):
    commit = Saved()
    editor = make_editor(qtbot, commit=commit)
    editor.label.setText("Work")
    editor._suggest_id("Work")
    editor.base_url.setText(url)
    editor.api_key.setText(key)
    assert not editor.try_accept()
    assert commit.calls == [] and editor.error.text() == message and editor.error.isVisible()


def test_duplicate_id_refused(qtbot):
    editor = AccountEditor(existing=None, taken_ids={"dup"}, commit=Saved())
    qtbot.addWidget(editor)
    editor.account_id.setText("dup")
    editor.api_key.setText(KEY)
    assert not editor.try_accept()
    assert editor.error.text() == "An account with id dup already exists: choose another id."


def test_routeway_explains_its_management_key(qtbot):
    editor = make_editor(qtbot)
    assert editor.management_hint.isHidden()
    editor.provider.setCurrentIndex(editor.provider.findData("routeway"))
    assert editor.management_hint.text() == (
        "Routeway shows usage only with a management key (create one in its dashboard).")
    assert not editor.management_hint.isHidden()


def test_check_host_tells_a_missing_host_from_no_network():
    from traywidget.desktop.hostcheck import Lookup, check_host

    async def both():
        return (await check_host("localhost", ["nothing.invalid"]),
                await check_host("nothing.invalid", ["localhost"]),
                await check_host("nothing.invalid", ["nothing-either.invalid"]))

    assert asyncio.run(both()) == (Lookup.RESOLVES, Lookup.NO_SUCH_HOST, Lookup.NO_NAMES_RESOLVE)


def test_coloured_text_stays_readable_in_a_dark_theme(qtbot):
    from PySide6.QtGui import QColor, QPalette

    from traywidget.ui.colors import contrast

    editor = make_editor(qtbot, keyring_problem="Keys cannot be saved: the keyring is locked.")
    editor.base_url.setText("https://routing.run/v1")
    dark = QPalette()
    for role, color in ((QPalette.ColorRole.Window, "#202124"), (QPalette.ColorRole.WindowText, "#e8eaed")):
        dark.setColor(role, QColor(color))
    editor.setPalette(dark)  # a theme switch while the dialog is open
    for label in (editor.keyring_banner, editor.url_advice, editor.test_result, editor.management_hint):
        text = label.palette().color(QPalette.ColorRole.WindowText)
        assert contrast(text, QColor("#202124")) >= 4.5, label.objectName() or label.text()


def test_a_key_pasted_with_bearer_is_saved_without_it(qtbot):
    commit = Saved()
    editor = make_editor(qtbot, commit=commit)
    editor.label.setText("Work")
    editor._suggest_id("Work")
    editor.api_key.setText(f"Bearer {KEY}")
    editor.management_key.setText(f"bearer {KEY[::-1]}\n")
    assert editor.try_accept()
    assert commit.calls == [(Account("work", "routing.run", "Work", "https://api.routing.run/v1"), KEY, KEY[::-1])]


@pytest.mark.parametrize("field,typed,message", [
    ("api_key", f"{KEY[:10]}\r\n{KEY[10:]}", "API key: The key contains a control character (a line break, a tab, "
     "NUL or an invisible formatting mark): nothing was saved. Copy the key again from the provider's dashboard."),
    ("api_key", f"{KEY}\x00", "API key: The key contains a control character (a line break, a tab, NUL or an "
     "invisible formatting mark): nothing was saved. Copy the key again from the provider's dashboard."),
    ("api_key", f"{KEY[:10]} {KEY[10:]}", "API key: The key contains a space: nothing was saved. A key is one word; "
     "copy it again from the provider's dashboard."),
    ("management_key", "https://openrouter.ai/settings/keys", "Management key: That is a web address, not a key: "
     "nothing was saved. Paste the key from the provider's dashboard."),
])
def test_what_cannot_be_a_key_is_refused_inline_and_nothing_saved(qtbot, field, typed, message):
    commit = Saved()
    editor = make_editor(qtbot, commit=commit)
    editor.label.setText("Work")
    editor._suggest_id("Work")
    editor.api_key.setText(KEY)
    getattr(editor, field).setText(typed)
    assert not editor.try_accept()
    assert commit.calls == [] and editor.error.text() == message and editor.error.isVisible()
    assert getattr(editor, field).text() == typed  # kept, to be corrected
    assert not any(KEY[10:] in text for text in every_text(editor))
    editor.test_connection()  # "Test connection" refuses it the same way, before any request
    assert editor.test_result.text() == message


def test_the_demos_keys_are_said_to_be_kept_in_memory(qtbot):
    existing = Account("demo-openrouter", "openrouter", "OpenRouter", "http://127.0.0.1:9/openrouter/api/v1")
    editor = make_editor(qtbot, existing=existing, has_saved_key=True, has_saved_management_key=True,
                         keys_in_memory=True)
    assert editor.api_key.placeholderText() == "•••• kept in memory for the demo"
    assert editor.management_key.placeholderText() == "•••• kept in memory for the demo"
