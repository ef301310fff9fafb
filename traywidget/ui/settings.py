"""Settings: the accounts (add, edit, remove — each saved by its own dialog), alerts, cadence and options.

When it opens it checks the keyring in a worker thread (asking it to unlock
if it is locked) and says at once when keys cannot be saved — no keyring, a
locked one, a dismissed unlock prompt — instead of after the user typed
everything. Accounts are edited in the account dialog (ui/account_editor.py),
whose "Save account" stores the account and its keys in one step; the
options are saved by this dialog's "Save settings" (disabled while an
account dialog is open, so two Saves never compete). The fields scroll on a
small screen; the keyring banner, errors and buttons stay pinned. Keys go to the keyring through the
SecretStore and nowhere else; errors are shown in the dialog, which keeps
everything typed: nothing is lost.

One dialog, longer than most modules: each group box is a few lines of layout around settings that
belong together. The account dialog (account_editor.py), its guard rails (rails_box.py) and fitting the
screen (screen_fit.py) are modules of their own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QGuiApplication, QMouseEvent, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from traywidget.i18n import LANGUAGES, tr, tr_noop
from traywidget.i18n.numbers import conventions
from traywidget.model import (
    UNTIL_RESUME,
    Account,
    ConfigError,
    InvalidValue,
    SecretStoreError,
    Thresholds,
)
from traywidget.providers import display_name
from traywidget.store.account_fields import MAX_INTERVAL_S, MIN_INTERVAL_S
from traywidget.store.config import DEFAULTS, Config
from traywidget.store.keyring_check import KeyringState, KeyringStatus
from traywidget.ui.account_editor import AccountEditor, Tester
from traywidget.ui.bridge import Asker
from traywidget.ui.colors import ERROR, MUTED, apply_tones, set_tone, wrapped_label
from traywidget.ui.screen_fit import ScrollingBody, fit_to_screen

log = logging.getLogger(__name__)

KeyringCheck = Callable[[], KeyringStatus]
WANTED_WIDTH = 520  # logical pixels; a smaller screen gets less, and the text wraps
ACCOUNT_ROWS = 6  # the account list shows this many rows before it scrolls

# What each keyring state means for the user, said before they type a key.
KEYRING_PROBLEMS = {
    KeyringState.NO_KEYRING: tr_noop(
        "Keys cannot be saved: no keyring was found. Install and unlock a Secret Service keyring "
        "(gnome-keyring or KWallet) and press Check again; traywidget never keeps keys in a file. "
        "`traywidget doctor` tells more."),
    KeyringState.PLAINTEXT: tr_noop(
        "Keys cannot be saved: the only keyring found keeps secrets in a plain file, which traywidget "
        "refuses to use. Install a Secret Service keyring (gnome-keyring or KWallet)."),
    KeyringState.LOCKED: tr_noop(
        "Keys cannot be saved: the keyring is locked. Unlock it (usually with your login password), "
        "then press Check again."),
    KeyringState.REFUSED: tr_noop(
        "Keys cannot be saved: the keyring stayed locked because its unlock prompt was dismissed. "
        "Press Check again to be asked again."),
    KeyringState.FAILED: tr_noop(
        "Keys cannot be saved: the keyring answered with an error. Press Check again, "
        "or see `traywidget doctor`."),
}


class WrappingCheck(QWidget):
    """A check box whose text wraps: a QCheckBox's own text never does, and a long one (German) would make the
    dialog wider than a small screen. A click on the text toggles it, as on a check box's own text."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = QCheckBox()
        self.box.setAccessibleName(text)
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        self.label.setBuddy(self.box)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.box, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.label, 1)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.box.isEnabled() and self.label.geometry().contains(event.position().toPoint()):
            self.box.toggle()
        super().mouseReleaseEvent(event)


def keyring_problem(status: KeyringStatus) -> str | None:
    """What to tell the user about the keyring, or None when keys can be saved."""
    if status.usable:
        return None
    return tr(KEYRING_PROBLEMS.get(status.state, KEYRING_PROBLEMS[KeyringState.FAILED]))


class SettingsDialog(QDialog):
    saved = Signal(object)  # the Config as saved: after each account change, and after Save

    def __init__(
        self,
        config_store: Any,
        secrets: Any,
        *,
        tester: Tester | None = None,
        ask: Asker | None = None,
        keyring_check: KeyringCheck | None = None,
        autostart: Callable[[bool], Any] | None = None,
        autostart_enabled: Callable[[], bool] | None = None,
        pin_choices: Sequence[tuple[str, str]] = (),
        config: Config | None = None,
        gateway_token: Callable[[bool], Awaitable[str]] | None = None,
        gateway_listening: int | None = None,
        keys_in_memory: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Settings"))  # Qt appends " — Traywidget" itself
        self.store = config_store
        self.secrets = secrets
        self.tester = tester
        self.ask = ask
        self.keyring_check = keyring_check
        self.gateway_listening = gateway_listening  # the port the gateway listens on now, if it runs
        self.keys_in_memory = keys_in_memory  # the demo: keys live in memory, never in the keyring
        self.autostart = autostart
        # gateway_token(rotate): a coroutine for the engine's thread answering the gateway token (a new one
        # when rotate); the dialog puts it on the clipboard.
        self.gateway_token = gateway_token
        self.config: Config = config if config is not None else config_store.load()
        self.keyring_problem: str | None = None
        self.editor: AccountEditor | None = None
        self.remove_box: QMessageBox | None = None
        self.token_box: QMessageBox | None = None
        self._autostart_initial = False
        if autostart_enabled is not None:
            try:
                self._autostart_initial = bool(autostart_enabled())
            except Exception as exc:
                log.warning("autostart status unknown: %s", exc)

        outer = QVBoxLayout(self)
        # --- the keyring, checked first: pinned above what scrolls
        self.keyring_box = QWidget()
        keyring_row = QHBoxLayout(self.keyring_box)
        keyring_row.setContentsMargins(0, 0, 0, 0)
        self.keyring_label = QLabel()
        self.keyring_label.setObjectName("keyringStatus")
        self.keyring_label.setWordWrap(True)
        self.keyring_label.setTextFormat(Qt.TextFormat.PlainText)
        self.keyring_again = QPushButton(tr("Check again"))
        self.keyring_again.clicked.connect(self.check_keyring)
        keyring_row.addWidget(self.keyring_label, 1)
        keyring_row.addWidget(self.keyring_again, 0, Qt.AlignmentFlag.AlignTop)
        self.keyring_box.setVisible(False)
        outer.addWidget(self.keyring_box)
        # Everything else scrolls when the screen is small; the error and the buttons stay pinned below.
        self.body = ScrollingBody()
        layout = self.body.content_layout
        outer.addWidget(self.body, 1)

        # --- accounts
        accounts_box = QGroupBox(tr("Accounts"))
        acc_layout = QVBoxLayout(accounts_box)
        self.accounts = QListWidget()
        # A long label is shortened in the middle (its tooltip has it whole) instead of widening the dialog.
        self.accounts.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.accounts.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # ACCOUNT_ROWS rows, whatever the screen: more accounts scroll inside the list.
        self.accounts.setFixedHeight(self.fontMetrics().lineSpacing() * ACCOUNT_ROWS
                                     + 2 * self.accounts.frameWidth() + 8)
        self.accounts.itemDoubleClicked.connect(lambda _item: self.edit_account())
        acc_layout.addWidget(self.accounts)
        row = QHBoxLayout()
        self.add_button = QPushButton(tr("Add…"))
        self.add_button.clicked.connect(lambda: self.add_account())
        self.edit_button = QPushButton(tr("Edit…"))
        self.edit_button.clicked.connect(lambda: self.edit_account())
        self.remove_button = QPushButton(tr("Remove…"))
        self.remove_button.clicked.connect(self.remove_account)
        row.addWidget(self.add_button)
        row.addWidget(self.edit_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        acc_layout.addLayout(row)
        # The one save model, said where it matters: an account is saved by its own dialog, the rest by
        # "Save settings" below (the account dialog's button says "Save account").
        self.accounts_note = QLabel(tr("Each account is saved by Save account in its own dialog. "
                                       "Save settings saves the options below."))
        self.accounts_note.setWordWrap(True)
        set_tone(self.accounts_note, MUTED)
        acc_layout.addWidget(self.accounts_note)
        layout.addWidget(accounts_box)

        # --- alerts & polling
        s = self.config.settings
        opts = QGroupBox(tr("Alerts and polling"))
        form = QFormLayout(opts)
        levels = sorted(s.thresholds.levels, reverse=True) + [0.20, 0.05]
        percent_before, percent_after = conventions().percent.split("{number}")
        self.low_pct = QSpinBox()
        self.low_pct.setRange(1, 99)
        self.low_pct.setPrefix(percent_before)
        self.low_pct.setSuffix(percent_after)
        self.low_pct.setValue(round(levels[0] * 100))
        self.critical_pct = QSpinBox()
        self.critical_pct.setRange(1, 99)
        self.critical_pct.setPrefix(percent_before)
        self.critical_pct.setSuffix(percent_after)
        self.critical_pct.setValue(round((levels[1] if len(s.thresholds.levels) > 1 else 0.05) * 100))
        form.addRow(tr("Warn when below"), self.low_pct)
        form.addRow(tr("Warn again below"), self.critical_pct)
        pace_row = WrappingCheck(tr("Warn when a window will run out before it resets (an estimate)"))
        self.pace_alerts = pace_row.box
        self.pace_alerts.setChecked(s.pace_alerts)
        form.addRow("", pace_row)
        self.fast_s = QDoubleSpinBox()
        self.full_s = QDoubleSpinBox()
        seconds_before, seconds_after = tr("{n} s").split("{n}", 1)
        for box, value in ((self.fast_s, s.fast_interval_s), (self.full_s, s.full_interval_s)):
            box.setRange(MIN_INTERVAL_S, MAX_INTERVAL_S)
            box.setDecimals(0)
            box.setPrefix(seconds_before)
            box.setSuffix(seconds_after)
            box.setValue(value)
        form.addRow(tr("Quick check every"), self.fast_s)
        form.addRow(tr("Full check every"), self.full_s)
        self.pin = QComboBox()
        # Long account labels in the choices must not widen the dialog.
        self.pin.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.pin.setMinimumContentsLength(16)
        self.pin.addItem(tr("Automatic — the window that runs out first"), None)
        for value, text in pin_choices:
            self.pin.addItem(text, value)
        if s.pinned_meter and self.pin.findData(s.pinned_meter) < 0:
            self.pin.addItem(s.pinned_meter, s.pinned_meter)
        self.pin.setCurrentIndex(max(0, self.pin.findData(s.pinned_meter)) if s.pinned_meter else 0)
        form.addRow(tr("Badge shows"), self.pin)
        self.icon_per_account = QCheckBox(tr("One tray icon per account"))
        self.icon_per_account.setChecked(s.icon_per_account)
        form.addRow("", self.icon_per_account)
        self.notifications = QCheckBox(tr("Desktop notifications"))
        self.notifications.setChecked(s.notifications)
        form.addRow("", self.notifications)
        self.start_at_login = QCheckBox(tr("Start at login"))
        self.start_at_login.setChecked(self._autostart_initial)
        self.start_at_login.setEnabled(autostart is not None)
        form.addRow("", self.start_at_login)
        layout.addWidget(opts)
        layout.addWidget(self._gateway_box(s))
        layout.addWidget(self._hooks_box(s))

        # --- language: each one named in itself, so that anyone can find their own
        language_box = QGroupBox(tr("Language"))
        language_layout = QVBoxLayout(language_box)
        self.language = QComboBox()
        self.language.addItem(tr("System default"), None)
        for code, name in LANGUAGES.items():
            self.language.addItem(name, code)
        self.language.setCurrentIndex(max(0, self.language.findData(s.language)) if s.language else 0)
        language_layout.addWidget(self.language)
        self.language_note = QLabel(tr("The menu, the tooltip and the panel switch at once; "
                                       "everything else after a restart."))
        self.language_note.setWordWrap(True)
        set_tone(self.language_note, MUTED)
        language_layout.addWidget(self.language_note)
        layout.addWidget(language_box)

        layout.addStretch(1)
        self.error = wrapped_label(ERROR, hidden=True)
        self.error.setObjectName("error")
        outer.addWidget(self.error)
        for warning in self.config.warnings:
            self.show_error(warning)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Save).setText(tr("Save settings"))
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        outer.addWidget(buttons)
        self._fill_accounts()
        apply_tones(self)
        self.check_keyring()

    def _hooks_box(self, s) -> QGroupBox:
        """The alert hooks, as `traywidget hooks list` numbers them (edited with that command)."""
        box = QGroupBox(tr("Alert hooks"))
        column = QVBoxLayout(box)
        self.hooks_list = QListWidget()
        self.hooks_list.setObjectName("hooks")
        for number, hook in enumerate(s.hooks, 1):
            if not hook.runnable:
                kind = tr("Kept, not run:")
            else:
                kind = tr("POST to") if hook.url is not None else tr("Run")
            self.hooks_list.addItem(tr("{n}. {kind} {target}").format(n=number, kind=kind, target=hook.target))
        # As many rows as there are hooks (up to four), never an empty box taking room.
        rows = min(len(s.hooks), 4)
        self.hooks_list.setVisible(rows > 0)
        self.hooks_list.setFixedHeight(self.hooks_list.sizeHintForRow(0) * rows + 2 * self.hooks_list.frameWidth()
                                       if rows else 0)
        column.addWidget(self.hooks_list)
        note = QLabel(tr("Every alert is also sent, as JSON, to these commands and URLs. Change them with "
                         "traywidget hooks add, remove N or test (the command line).") if s.hooks else
                      tr("Send every alert, as JSON, to a command or a URL (Slack, Discord, ntfy…) with "
                         "traywidget hooks add --command CMD or --url URL (the command line)."))
        note.setWordWrap(True)
        note.setTextFormat(Qt.TextFormat.PlainText)
        note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        set_tone(note, MUTED)
        column.addWidget(note)
        return box


    def showEvent(self, event: QShowEvent) -> None:
        if not event.spontaneous():
            self.body.guard_fields()
            fit_to_screen(self, self.body, WANTED_WIDTH)
        super().showEvent(event)

    def _gateway_box(self, s) -> QGroupBox:
        box = QGroupBox(tr("Local gateway"))
        form = QFormLayout(box)
        explain = QLabel(tr(
            "Point your tools (SDKs, coding assistants, curl) at traywidget instead of the provider: it passes "
            "every request through, shows 429s and limits as they happen, and Kill all streams stops their "
            "streams on every provider. Your tools then hold one local token, never your keys."))
        explain.setWordWrap(True)
        set_tone(explain, MUTED)
        form.addRow(explain)
        self.gateway_enabled = QCheckBox(tr("Run the local gateway on 127.0.0.1"))
        self.gateway_enabled.setChecked(s.gateway_enabled)
        form.addRow("", self.gateway_enabled)
        self.gateway_port = QSpinBox()
        self.gateway_port.setRange(1024, 65535)
        # Port 0 (the demo's) means "any free port": show the one in use, and keep 0 unless it is changed.
        self._any_free_port = s.gateway_port == 0
        shown = s.gateway_port if s.gateway_port >= 1024 else (self.gateway_listening or DEFAULTS["gateway_port"])
        self.gateway_port.setValue(shown)
        self._port_shown = shown
        form.addRow(tr("Port"), self.gateway_port)
        metrics_row = WrappingCheck(tr("Serve Prometheus metrics at /metrics (with the token)"))
        self.metrics_enabled = metrics_row.box
        self.metrics_enabled.setChecked(s.metrics_enabled)
        form.addRow("", metrics_row)
        self.kill_hold = QComboBox()
        holds: list[tuple[int | str, str]] = [(0, tr("No: only stop the streams")), (15, tr("For 15 minutes")),
                                              (60, tr("For 1 hour")), (UNTIL_RESUME, tr("Until I resume"))]
        if s.kill_hold not in [value for value, _ in holds]:
            holds.insert(-1, (s.kill_hold, tr("For {n} minutes").format(n=s.kill_hold)))
        for value, text in holds:
            self.kill_hold.addItem(text, value)
        self.kill_hold.setCurrentIndex(max(0, self.kill_hold.findData(s.kill_hold)))
        self.kill_hold.setToolTip(tr("While held, the gateway refuses your tools' new requests at once, so an agent's "
                                     "loop cannot start the next one; \"Resume requests\" in the tray menu ends it"))
        form.addRow(tr("Kill all streams also holds"), self.kill_hold)
        row = QHBoxLayout()
        self.copy_token = QPushButton(tr("Copy token"))
        self.new_token = QPushButton(tr("New token…"))
        self.copy_token.clicked.connect(lambda: self._token_to_clipboard(False))
        self.new_token.clicked.connect(lambda: self._token_to_clipboard(True))
        for button in (self.copy_token, self.new_token):
            button.setEnabled(self.gateway_token is not None and self.ask is not None)
            row.addWidget(button)
        row.addStretch(1)
        form.addRow("", row)
        if self.gateway_listening:
            note = tr("Running: a tool's base URL is http://127.0.0.1:{port}/ACCOUNT_ID; each account's menu "
                      "copies its own.").format(port=self.gateway_listening)
        else:
            note = tr("A tool's base URL is http://127.0.0.1:PORT/ACCOUNT_ID; each account's menu copies its own.")
        self.gateway_note = QLabel(note)
        self.gateway_note.setWordWrap(True)
        self.gateway_note.setTextFormat(Qt.TextFormat.PlainText)
        set_tone(self.gateway_note, MUTED)
        form.addRow(self.gateway_note)
        return box

    def _token_to_clipboard(self, rotate: bool) -> None:
        if rotate:
            box = QMessageBox(QMessageBox.Icon.Question, tr("New gateway token?"),
                              tr("Tools that hold the current token are refused until you give them the new one."),
                              QMessageBox.StandardButton.Cancel, self)
            make = box.addButton(tr("Make a new token"), QMessageBox.ButtonRole.DestructiveRole)
            box.setDefaultButton(QMessageBox.StandardButton.Cancel)
            box.buttonClicked.connect(lambda button: self._fetch_token(True) if button is make else None)
            self.token_box = box
            box.open()
            return
        self._fetch_token(False)

    def _fetch_token(self, rotate: bool) -> None:
        def done(token: str | None, error: BaseException | None) -> None:
            if error is not None or token is None:
                self.gateway_note.setText(tr("The token could not be read: {error}").format(error=error))
                set_tone(self.gateway_note, ERROR)
            else:
                QGuiApplication.clipboard().setText(token)
                self.gateway_note.setText(tr("A new token is on the clipboard: paste it into your tools.") if rotate
                                          else tr("The token is on the clipboard: paste it where your tool "
                                                  "asks for an API key."))
                set_tone(self.gateway_note, MUTED)

        gateway_token = self.gateway_token
        if gateway_token is not None and self.ask is not None:
            self.ask(lambda: gateway_token(rotate), name="gateway-token", on_done=done)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # a theme switch: coloured text follows
            apply_tones(self)

    # ------------------------------------------------------------ keyring
    def check_keyring(self) -> None:
        """Ask the keyring, in a worker thread, whether keys can be saved (it may show an unlock prompt)."""
        check = self.keyring_check
        if check is None or self.ask is None:
            return
        self.keyring_again.setEnabled(False)
        self._show_keyring(tr("Checking whether keys can be saved in the keyring…"), MUTED)
        self.ask(lambda: asyncio.to_thread(check), name="keyring-check", on_done=self._keyring_checked)

    def _keyring_checked(self, status: KeyringStatus | None, error: BaseException | None) -> None:
        self.keyring_again.setEnabled(True)
        if error is not None or status is None:
            problem: str | None = tr(KEYRING_PROBLEMS[KeyringState.FAILED])
        else:
            problem = keyring_problem(status)
        self.keyring_problem = problem
        self._show_keyring(problem, ERROR)
        if self.editor is not None:
            self.editor.set_keyring_problem(problem)

    def _show_keyring(self, text: str | None, tone: str) -> None:
        self.keyring_label.setText(text or "")
        set_tone(self.keyring_label, tone)
        self.keyring_box.setVisible(bool(text))
        self._grow_to_fit()

    def _grow_to_fit(self) -> None:
        """Room for a message that just appeared, as far as the screen allows (the rest scrolls)."""
        if self.isVisible():
            fit_to_screen(self, self.body, WANTED_WIDTH, grow_only=True)

    # ----------------------------------------------------------- accounts
    def _fill_accounts(self, select: str | None = None) -> None:
        current = select or self.selected_id()
        self.accounts.clear()
        for account in self.config.accounts:
            item = QListWidgetItem(tr("{label}  —  {provider}  ({id})").format(
                label=account.label, provider=display_name(account.provider), id=account.id))
            item.setData(Qt.ItemDataRole.UserRole, account.id)
            item.setToolTip(item.text())
            self.accounts.addItem(item)
            if account.id == current:
                self.accounts.setCurrentItem(item)
        if self.accounts.currentRow() < 0 and self.accounts.count():
            self.accounts.setCurrentRow(0)
        has = self.accounts.count() > 0
        self.edit_button.setEnabled(has)
        self.remove_button.setEnabled(has)

    def selected_id(self) -> str | None:
        item = self.accounts.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def _has_saved(self, account_id: str, management: bool) -> bool:
        """Whether a key is saved (only shown as a placeholder; never put in a field)."""
        try:
            return self.secrets.get(account_id, management) is not None
        except SecretStoreError:
            return False

    def make_editor(self, existing: Account | None) -> AccountEditor:
        taken = {a.id for a in self.config.accounts}
        editor = AccountEditor(
            existing=existing,
            taken_ids=taken - ({existing.id} if existing else set()),
            commit=self.commit_account,
            has_saved_key=existing is not None and self._has_saved(existing.id, False),
            has_saved_management_key=existing is not None and self._has_saved(existing.id, True),
            tester=self.tester,
            ask=self.ask,
            saved_key_lookup=self.secrets.get,
            keyring_problem=self.keyring_problem,
            keys_in_memory=self.keys_in_memory,
            parent=self,
        )
        self.editor = editor
        # While an account is edited, its dialog's Save account is the only Save that can be pressed.
        self.buttons.setEnabled(False)
        editor.finished.connect(lambda _result: self._editor_closed(editor))
        return editor

    def _editor_closed(self, editor: AccountEditor) -> None:
        if self.editor is editor:
            self.editor = None
            self.buttons.setEnabled(True)

    def add_account(self) -> AccountEditor:
        """Open the account dialog for a new account (it saves itself)."""
        editor = self.make_editor(None)
        editor.open()
        return editor

    def edit_account(self) -> AccountEditor | None:
        account_id = self.selected_id()
        existing = self.config.account(account_id) if account_id else None
        if existing is None:
            return None
        editor = self.make_editor(existing)
        editor.open()
        return editor

    def commit_account(self, account: Account, api_key: str | None, management_key: str | None) -> None:
        """Save an account and its keys at once (the account dialog's Save). Raises what the user is told.

        Keys first: when the keyring refuses, nothing else changes and the dialog keeps everything typed.
        """
        for management, secret in ((False, api_key), (True, management_key)):
            if secret:
                self.secrets.set(account.id, secret, management=management)
        try:
            # On the config as it is on disk now: accounts added elsewhere meanwhile are kept.
            config = self.store.update(lambda current: current.with_account(account))
        except ConfigError as exc:
            raise ConfigError(tr("{error} The keys were saved; press Save again to save the account.")
                              .format(error=exc)) from None
        self.config = config
        self._fill_accounts(select=account.id)
        self.saved.emit(config)

    def remove_account(self) -> None:
        """Ask, then remove the selected account and delete its keys."""
        account = self.config.account(self.selected_id() or "")
        if account is None:
            return
        box = QMessageBox(QMessageBox.Icon.Question, tr("Remove account?"),
                          tr("Remove {label} and delete its keys from the keyring?").format(label=account.label),
                          QMessageBox.StandardButton.Cancel, self)
        remove = box.addButton(tr("Remove"), QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.buttonClicked.connect(lambda button: self._remove_answered(account.id, button is remove))
        self.remove_box = box
        box.open()

    def _remove_answered(self, account_id: str, confirmed: bool) -> None:
        if not confirmed:
            return
        try:
            config = self.store.update(lambda current: current.without_account(account_id))
        except ConfigError as exc:
            self.show_error(str(exc))
            return
        self.config = config
        problems = []
        for management in (False, True):
            try:
                self.secrets.delete(account_id, management=management)
            except SecretStoreError as exc:
                problems.append(str(exc))
        self._fill_accounts()
        self.saved.emit(config)
        self.show_error(tr("The account was removed, but: {problems}").format(problems=" ".join(problems))
                        if problems else None)

    # --------------------------------------------------------------- save
    def show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))
        self._grow_to_fit()

    def build_config(self) -> Config:
        low, critical = self.low_pct.value(), self.critical_pct.value()
        if critical >= low:
            raise InvalidValue(tr("The second warning level must be below the first (e.g. 20 % and 5 %)."))
        if self.full_s.value() < self.fast_s.value():
            raise InvalidValue(tr("The full check cannot be more frequent than the quick check."))
        settings = replace(
            self.config.settings,
            thresholds=Thresholds((low / 100.0, critical / 100.0)),
            fast_interval_s=float(self.fast_s.value()),
            full_interval_s=float(self.full_s.value()),
            pinned_meter=self.pin.currentData(),
            icon_per_account=self.icon_per_account.isChecked(),
            notifications=self.notifications.isChecked(),
            pace_alerts=self.pace_alerts.isChecked(),
            language=self.language.currentData(),
            gateway_enabled=self.gateway_enabled.isChecked(),
            metrics_enabled=self.metrics_enabled.isChecked(),
            gateway_port=(0 if self._any_free_port and self.gateway_port.value() == self._port_shown
                          else self.gateway_port.value()),
            kill_hold=self.kill_hold.currentData(),
        )
        return replace(self.config, settings=settings, warnings=())

    def save(self) -> bool:
        """Save the options (accounts are saved as they are edited)."""
        try:
            settings = self.build_config().settings
        except InvalidValue as exc:
            self.show_error(str(exc))
            return False
        try:
            # Only the options are this dialog's to write: the accounts are taken as they are on disk now.
            config = self.store.update(lambda current: replace(current, settings=settings))
        except ConfigError as exc:
            self.show_error(str(exc))
            return False
        self.config = config
        problem = None
        if self.autostart is not None and self.start_at_login.isChecked() != self._autostart_initial:
            try:
                self.autostart(self.start_at_login.isChecked())
                self._autostart_initial = self.start_at_login.isChecked()
            except Exception as exc:
                problem = tr("Saved, but start at login could not be changed: {error}").format(error=exc)
        self.saved.emit(config)
        if problem:
            self.show_error(problem)
            return True
        self.accept()
        return True
