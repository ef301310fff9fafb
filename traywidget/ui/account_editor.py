"""The account dialog: add or edit one account, test it, and save it with its keys in one step.

Its "Save account" stores the keys in the keyring and the account in the config at
once (through the `commit` callable it is given); closing it with unsaved
edits asks "Discard changes?". A saved key is never loaded back into a
field: the field stays empty with the placeholder "•••• saved in keyring",
and an empty field on save keeps the saved key.

The base URL is checked as it is typed: a host that is not the provider's, a
path without its /v1 form (with a button that applies the fix), and a key
pasted into it by mistake, which is removed from the field and never shown.
Test connection reports in a space of fixed size, so the dialog does not
jump while it runs; a 404 is explained as a base URL to check, and a host
that does not resolve is told apart from being offline.

One dialog, a little over 500 lines: its fields, their advice and Test connection belong together; what
is checked lives below it (store/account_fields.py, store/key_input.py) and is only shown here.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from traywidget.desktop.hostcheck import Lookup, check_host
from traywidget.i18n import tr, tr_noop
from traywidget.model import Account, InvalidValue, Rails, Snapshot, TraywidgetError
from traywidget.present.formatting import meter_title
from traywidget.present.text import STATE_TEXT, error_text, meter_value_text
from traywidget.providers import PROVIDER_IDS, display_name, get_provider
from traywidget.store.account_fields import (
    KEY_IN_URL_MESSAGE,
    base_url_advice,
    looks_like_key,
    validate_account_id,
    validate_base_url,
)
from traywidget.store.key_input import check_key
from traywidget.ui.bridge import Asker
from traywidget.ui.colors import (
    ERROR,
    GOOD,
    MUTED,
    WARNING,
    apply_tones,
    set_tone,
    wrapped_label,
)
from traywidget.ui.rails_box import RailsBox
from traywidget.ui.screen_fit import ScrollingBody, fit_to_screen

SAVED_PLACEHOLDER = tr_noop("•••• saved in keyring")
MEMORY_PLACEHOLDER = tr_noop("•••• kept in memory for the demo")
TEST_HINT = tr_noop("Test connection checks the key and the base URL with the provider; "
                    "nothing is saved until you press Save account.")
WANTED_WIDTH = 480  # logical pixels; a smaller screen gets less, and the text wraps
RESULT_LINES = 6  # the test result's space, in lines: fixed, so the dialog never jumps

Tester = Callable[[Account, str, "str | None"], Awaitable[Snapshot]]
# commit(account, api_key or None, management_key or None) saves them, or raises a TraywidgetError.
Commit = Callable[[Account, "str | None", "str | None"], None]

def slugify(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip("-._").lower()
    return slug[:64] or "account"


def expected_base_url(account: Account) -> str:
    """The base URL a 404 most likely asks for."""
    advice = base_url_advice(account.provider, account.base_url)
    if advice is not None and advice.fixed_url:
        return advice.fixed_url
    return get_provider(account.provider).default_base_url


def reference_hosts(provider_id: str) -> tuple[str, ...]:
    """Names known to exist, to tell "no such host" from "offline"."""
    provider = get_provider(provider_id)
    default = urlsplit(provider.default_base_url).hostname or ""
    return provider.known_hosts or ((default,) if default else ())


def describe_test_result(snapshot: Snapshot, account: Account, lookup: Lookup | None = None) -> tuple[bool, str]:
    """(ok, what the test found) for the Test-connection area."""
    good = snapshot.state.key_accepted
    state = tr(STATE_TEXT.get(snapshot.state, snapshot.state.value))
    lines = [(tr("Connected — {state}") if good else tr("Failed — {state}")).format(state=state)]
    if snapshot.plan:
        lines.append(tr("Plan: {plan}").format(plan=tr(snapshot.plan)))
    for meter in snapshot.meters:
        lines.append(tr("{title}: {figure}").format(title=meter_title(meter), figure=meter_value_text(meter)))
    error = snapshot.error
    host = urlsplit(account.base_url).hostname or account.base_url
    if error is not None and error.http_status == 404:
        lines.append(tr("Not found (404): check the base URL (expected {url}).").format(url=expected_base_url(account)))
    elif lookup is Lookup.NO_SUCH_HOST:
        lines.append(tr("The host {host} does not exist (its name does not resolve): check the base URL.")
                     .format(host=host))
    elif lookup is Lookup.NO_NAMES_RESOLVE:
        lines.append(tr("Offline: no host name resolves right now, not even {known}. Check the network connection.")
                     .format(known=", ".join(reference_hosts(account.provider))))
    elif error_text(snapshot):
        lines.append(tr("Provider said: {error}").format(error=error_text(snapshot)))
    lines.extend(tr(note) for note in snapshot.notes)
    return good, "\n".join(lines)


class AccountEditor(QDialog):
    """Add or edit one account. Its Save stores the account and its keys at once."""

    saved = Signal(object)  # the Account, after it and its keys were saved

    def __init__(
        self,
        *,
        existing: Account | None,
        taken_ids: set[str],
        commit: Commit,
        has_saved_key: bool = False,
        has_saved_management_key: bool = False,
        tester: Tester | None = None,
        ask: Asker | None = None,
        saved_key_lookup: Callable[[str, bool], str | None] | None = None,
        keyring_problem: str | None = None,
        keys_in_memory: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Edit account") if existing else tr("Add account"))
        self.existing = existing
        self.taken_ids = taken_ids
        self.commit = commit
        self.tester = tester
        self.ask = ask  # runs the test on the engine's thread, answers on the GUI thread
        self.saved_key_lookup = saved_key_lookup
        self.discard_box: QMessageBox | None = None
        self.other_host_box: QMessageBox | None = None
        self._id_touched = existing is not None

        outer = QVBoxLayout(self)
        self.keyring_banner = QLabel()
        self.keyring_banner.setObjectName("keyringBanner")
        self.keyring_banner.setWordWrap(True)
        self.keyring_banner.setTextFormat(Qt.TextFormat.PlainText)
        set_tone(self.keyring_banner, ERROR)
        outer.addWidget(self.keyring_banner)
        self.set_keyring_problem(keyring_problem)
        # The fields and the test result scroll on a small screen; the error and the buttons stay pinned.
        self.body = ScrollingBody()
        layout = self.body.content_layout
        outer.addWidget(self.body, 1)

        form = QFormLayout()
        self.provider = QComboBox()
        for provider_id in PROVIDER_IDS:
            self.provider.addItem(display_name(provider_id), provider_id)
        self.label = QLineEdit()
        self.label.setPlaceholderText(tr("e.g. Work key"))
        self.account_id = QLineEdit()
        self.account_id.setPlaceholderText(tr("letters, digits, . _ -"))
        self.base_url = QLineEdit()
        self.url_advice = QLabel()
        self.url_advice.setWordWrap(True)
        self.url_advice.setTextFormat(Qt.TextFormat.PlainText)
        self.url_fix = QPushButton()
        self.url_fix.clicked.connect(self._apply_url_fix)
        self._fixed_url: str | None = None
        self.url_advice_box = QWidget()
        advice_layout = QVBoxLayout(self.url_advice_box)
        advice_layout.setContentsMargins(0, 0, 0, 0)
        advice_layout.addWidget(self.url_advice)
        advice_layout.addWidget(self.url_fix, 0, Qt.AlignmentFlag.AlignLeft)
        self.url_advice_box.setVisible(False)
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        saved = tr(MEMORY_PLACEHOLDER if keys_in_memory else SAVED_PLACEHOLDER)
        self.api_key.setPlaceholderText(saved if has_saved_key else tr("paste the API key"))
        self.management_key = QLineEdit()
        self.management_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.management_key.setPlaceholderText(
            saved if has_saved_management_key else tr("optional — enables usage details"))
        for widget in (self.api_key, self.management_key):
            widget.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, False)
        self.management_hint = QLabel()
        self.management_hint.setWordWrap(True)
        set_tone(self.management_hint, MUTED)
        form.addRow(tr("Provider"), self.provider)
        form.addRow(tr("Label"), self.label)
        form.addRow(tr("Account id"), self.account_id)
        form.addRow(tr("Base URL"), self.base_url)
        form.addRow("", self.url_advice_box)
        form.addRow(tr("API key"), self.api_key)
        form.addRow(tr("Management key"), self.management_key)
        form.addRow("", self.management_hint)
        layout.addLayout(form)
        self.rails_box = RailsBox(existing.rails if existing is not None else Rails())
        layout.addWidget(self.rails_box)

        self.test_button = QPushButton(tr("Test connection"))
        self.test_button.setEnabled(tester is not None and ask is not None)
        self.test_button.clicked.connect(self.test_connection)
        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.test_result = QLabel()
        self.test_result.setObjectName("testResult")
        self.test_result.setWordWrap(True)
        self.test_result.setTextFormat(Qt.TextFormat.PlainText)
        self.test_result.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test_area = QScrollArea()
        self.test_area.setWidgetResizable(True)
        self.test_area.setFrameShape(QFrame.Shape.StyledPanel)
        self.test_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.test_area.setWidget(self.test_result)
        self.test_area.setFixedHeight(self.fontMetrics().lineSpacing() * RESULT_LINES + 12)
        layout.addWidget(self.test_area)
        self._show_result(tr(TEST_HINT), MUTED)

        layout.addStretch(1)
        self.error = wrapped_label(ERROR, hidden=True)
        self.error.setObjectName("error")
        outer.addWidget(self.error)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        # "Save account", not "Save": over Settings it must not read as Settings' own Save.
        buttons.button(QDialogButtonBox.StandardButton.Save).setText(tr("Save account"))
        buttons.accepted.connect(self.try_accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        outer.addWidget(buttons)

        self._last_default_url = ""
        if existing is not None:
            self.provider.setCurrentIndex(max(0, self.provider.findData(existing.provider)))
            self.label.setText(existing.label)
            self.account_id.setText(existing.id)
            self.account_id.setReadOnly(True)
            self.base_url.setText(existing.base_url)
            self._last_default_url = get_provider(existing.provider).default_base_url
        else:
            self._prefill_url()
        self.provider.currentIndexChanged.connect(self._provider_changed)
        self.label.textEdited.connect(self._suggest_id)
        self.account_id.textEdited.connect(self._touch_id)
        self.base_url.textChanged.connect(self._check_url)
        # A test result speaks of the URL and keys it tested: any change makes it stale.
        self._test_generation = 0
        for field in (self.base_url, self.api_key, self.management_key):
            field.textChanged.connect(self._forget_test)
        self.provider.currentIndexChanged.connect(self._forget_test)
        self._check_url()
        self._show_management_hint()
        self._initial = self._field_values()
        apply_tones(self)

    def showEvent(self, event: QShowEvent) -> None:
        if not event.spontaneous():
            self.body.guard_fields()
            fit_to_screen(self, self.body, WANTED_WIDTH)
        super().showEvent(event)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # a theme switch: coloured text follows
            apply_tones(self)

    # -------------------------------------------------------------- fields
    def provider_id(self) -> str:
        return str(self.provider.currentData())

    def _field_values(self) -> tuple[str, ...]:
        return (self.provider_id(), self.label.text(), self.account_id.text(), self.base_url.text())

    def has_unsaved_changes(self) -> bool:
        return self._field_values() != self._initial or bool(self.api_key.text() or self.management_key.text())

    def _provider_changed(self) -> None:
        self._prefill_url()
        self._check_url()
        self._show_management_hint()

    def _prefill_url(self) -> None:
        default = get_provider(self.provider_id()).default_base_url
        current = self.base_url.text().strip()
        if not current or current == self._last_default_url:
            self.base_url.setText(default)
        self._last_default_url = default

    def _show_management_hint(self) -> None:
        hint = get_provider(self.provider_id()).management_key_hint
        self.management_hint.setText(tr(hint) if hint else "")
        self.management_hint.setVisible(hint is not None)

    def _touch_id(self) -> None:
        self._id_touched = True

    def _suggest_id(self, text: str) -> None:
        if not self._id_touched:
            candidate = slugify(text)
            base, n = candidate, 2
            while candidate in self.taken_ids:
                candidate = f"{base}-{n}"
                n += 1
            self.account_id.setText(candidate)

    def _check_url(self) -> None:
        text = self.base_url.text()
        if looks_like_key(text):
            # setText (not clear) also empties the field's undo history: Ctrl+Z cannot bring the key back.
            self.base_url.blockSignals(True)
            self.base_url.setText("")
            self.base_url.blockSignals(False)
            self._show_advice(tr(KEY_IN_URL_MESSAGE), get_provider(self.provider_id()).default_base_url, ERROR)
            return
        advice = base_url_advice(self.provider_id(), text) if text.strip() else None
        if advice is None:
            self._show_advice(None, None, WARNING)
        else:
            self._show_advice(advice.message, advice.fixed_url, WARNING)

    def _show_advice(self, message: str | None, fixed_url: str | None, tone: str) -> None:
        self._fixed_url = fixed_url
        self.url_advice.setText(message or "")
        set_tone(self.url_advice, tone)
        self.url_fix.setText(tr("Use {url}").format(url=fixed_url) if fixed_url else "")
        self.url_fix.setVisible(fixed_url is not None)
        self.url_advice_box.setVisible(message is not None)
        self._grow_to_fit()

    def _grow_to_fit(self) -> None:
        """Room for a message that just appeared (a top-level window does not grow for wrapped text by itself),
        as far as the screen allows; the rest scrolls."""
        if self.isVisible():
            fit_to_screen(self, self.body, WANTED_WIDTH, grow_only=True)

    def _apply_url_fix(self) -> None:
        if self._fixed_url:
            self.base_url.setText(self._fixed_url)

    def set_keyring_problem(self, problem: str | None) -> None:
        self.keyring_banner.setText(problem or "")
        self.keyring_banner.setVisible(bool(problem))

    def show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))
        self._grow_to_fit()

    def build_account(self) -> Account:
        """The account the fields describe; InvalidValue says what is wrong."""
        account_id = self.account_id.text().strip()
        label = self.label.text().strip()
        if not account_id:
            account_id = slugify(label) if label else ""
        if not account_id:
            raise InvalidValue(tr("Give the account a label or an id."))
        validate_account_id(account_id)
        if self.existing is None and account_id in self.taken_ids:
            raise InvalidValue(tr("An account with id {id} already exists: choose another id.").format(id=account_id))
        base_url = validate_base_url(self.base_url.text())
        previous = self.existing
        return Account(
            id=account_id,
            provider=self.provider_id(),
            label=label or account_id,
            base_url=base_url,
            fast_interval_s=previous.fast_interval_s if previous else None,
            full_interval_s=previous.full_interval_s if previous else None,
            # Kept as set in config.json or with `accounts add --user-agent` (no field here yet).
            user_agent=previous.user_agent if previous else None,
            rails=self.rails_box.rails(),
        )

    # ---------------------------------------------------------------- save
    def try_accept(self, *, other_host_confirmed: bool = False) -> bool:
        """Save the account and its keys; on any failure say why and keep everything typed.

        A base URL on another provider's host is saved only once the user confirmed it (a question first)."""
        try:
            account = self.build_account()
        except InvalidValue as exc:
            self.show_error(str(exc))
            return False
        advice = base_url_advice(account.provider, account.base_url)
        if advice is not None and advice.other_provider and not other_host_confirmed:
            self._ask_other_host(advice.message)
            return False
        api_key = self.api_key.text().strip()
        if self.api_key.text() and not api_key:
            self.show_error(tr("The API key is only spaces."))
            return False
        if self.existing is None and not api_key:
            self.show_error(tr("The API key is empty: paste the key from the provider's dashboard."))
            return False
        try:
            typed_api_key, management_key = self._typed_keys()
        except InvalidValue as exc:
            self.show_error(str(exc))
            return False
        try:
            self.commit(account, typed_api_key, management_key)
        except TraywidgetError as exc:
            self.show_error(str(exc))
            return False
        self._clear_key_fields()
        self._initial = self._field_values()
        self.saved.emit(account)
        self.accept()
        return True

    def _typed_keys(self) -> tuple[str | None, str | None]:
        """The keys typed (None: left empty), as check_key has them; InvalidValue names the field at fault."""
        keys: list[str | None] = []
        for field_name, widget in ((tr("API key"), self.api_key), (tr("Management key"), self.management_key)):
            typed = widget.text().strip()
            try:
                keys.append(check_key(typed) if typed else None)
            except InvalidValue as exc:
                widget.setFocus()
                raise InvalidValue(tr("{field}: {problem}").format(field=field_name, problem=exc)) from None
        return keys[0], keys[1]


    def _ask_other_host(self, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, tr("Send this key to another provider?"),
                          message, QMessageBox.StandardButton.Cancel, self)
        keep = box.addButton(tr("Save with this URL"), QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.buttonClicked.connect(lambda button: button is keep and self.try_accept(other_host_confirmed=True))
        self.other_host_box = box
        box.open()

    def _clear_key_fields(self) -> None:
        self.api_key.clear()
        self.management_key.clear()

    def reject(self) -> None:
        """Cancel, Esc or the window's close button: ask before unsaved edits are thrown away."""
        if not self.has_unsaved_changes():
            self._discard()
            return
        if self.discard_box is None:
            box = QMessageBox(QMessageBox.Icon.Question, tr("Discard changes?"),
                              tr("This account has changes that are not saved. Discard them?"),
                              QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel, self)
            box.button(QMessageBox.StandardButton.Cancel).setText(tr("Keep editing"))
            box.setDefaultButton(QMessageBox.StandardButton.Cancel)
            box.buttonClicked.connect(self._discard_answered)
            self.discard_box = box
        self.discard_box.open()

    def _discard_answered(self, button) -> None:
        box = self.discard_box
        if box is not None and box.standardButton(button) == QMessageBox.StandardButton.Discard:
            self._discard()

    def _discard(self) -> None:
        self._clear_key_fields()
        super().reject()

    # --------------------------------------------------------------- test
    def test_connection(self) -> None:
        if self.tester is None or self.ask is None:
            return
        try:
            account = self.build_account()
        except InvalidValue as exc:
            self._show_result(str(exc), ERROR)
            return
        try:
            typed_api_key, management_key = self._typed_keys()
        except InvalidValue as exc:
            self._show_result(str(exc), ERROR)
            return
        api_key = typed_api_key or ""
        try:
            if not api_key and self.existing is not None and self.saved_key_lookup is not None:
                api_key = self.saved_key_lookup(account.id, False) or ""
            if management_key is None and self.existing is not None and self.saved_key_lookup is not None:
                management_key = self.saved_key_lookup(account.id, True)
        except TraywidgetError as exc:
            self._show_result(str(exc), ERROR)
            return
        if not api_key:
            self._show_result(tr("The API key is empty: paste the key to test it."), ERROR)
            return
        self.test_button.setEnabled(False)
        self._show_result(tr("Testing…"), MUTED)
        self._test_generation += 1
        generation = self._test_generation
        self.ask(lambda: self._probe(account, api_key, management_key), name="test-connection",
                 on_done=lambda result, error: self._test_done(account, result, error, generation))

    async def _probe(
        self, account: Account, api_key: str, management_key: str | None
    ) -> tuple[Snapshot, Lookup | None]:
        assert self.tester is not None  # the Test button works only with a tester
        snapshot = await self.tester(account, api_key, management_key)
        lookup = None
        if snapshot.error is not None and snapshot.error.code == "OFFLINE":
            host = urlsplit(account.base_url).hostname or ""
            lookup = await check_host(host, reference_hosts(account.provider))
        return snapshot, lookup

    def _forget_test(self) -> None:
        """The URL, a key or the provider changed: a shown (or running) test no longer speaks of these fields."""
        self._test_generation += 1
        self.test_button.setEnabled(self.tester is not None and self.ask is not None)
        self._show_result(tr(TEST_HINT), MUTED)

    def _test_done(self, account: Account, result: Any, error: BaseException | None, generation: int) -> None:
        if generation != self._test_generation:
            return  # the fields changed while it ran: its answer is about something else
        self.test_button.setEnabled(True)
        if error is not None or result is None:
            detail = str(error) if isinstance(error, TraywidgetError) else type(error).__name__
            self._show_result(tr("Test failed: {error}").format(error=detail), ERROR)
            return
        snapshot, lookup = result
        ok, text = describe_test_result(snapshot, account, lookup)
        self._show_result(text, GOOD if ok else ERROR)

    def _show_result(self, text: str, tone: str) -> None:
        self.test_result.setText(text)
        set_tone(self.test_result, tone)
