"""Settings: accounts (add / edit / remove, test connection), thresholds, cadence, options.

Keys go to the keyring through the SecretStore and nowhere else. A saved key
is never loaded back into a field: the field stays empty with the
placeholder "•••• saved in keyring", and an empty field on save means "keep
the saved key". Keyring or config errors are shown in the dialog, which stays
open with everything typed still in it: nothing is lost.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any, Awaitable, Callable, Sequence

from PySide6.QtCore import Qt, Signal
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
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from traywidget.core.config import (
    MAX_INTERVAL_S,
    MIN_INTERVAL_S,
    Config,
    validate_account_id,
    validate_base_url,
)
from traywidget.model import (
    Account,
    ConfigError,
    InvalidValue,
    SecretStoreError,
    Snapshot,
    Thresholds,
)
from traywidget.providers import PROVIDER_IDS, display_name, get_provider
from traywidget.ui import text as T

log = logging.getLogger(__name__)

SAVED_PLACEHOLDER = "•••• saved in keyring"
ERROR_STYLE = "color: #d93025;"
OK_STYLE = "color: #1f9d55;"

# spawn(awaitable, done) runs the awaitable on the app's loop and calls
# done(result, error) on the GUI thread when it finishes.
Spawn = Callable[[Awaitable[Any], Callable[[Any, BaseException | None], None]], None]
Tester = Callable[[Account, str, "str | None"], Awaitable[Snapshot]]


def slugify(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip("-._").lower()
    return slug[:64] or "account"


def describe_test_result(snapshot: Snapshot) -> tuple[bool, str]:
    """(ok, what the provider answered) for the Test-connection label."""
    state = T.STATE_TEXT.get(snapshot.state, snapshot.state.value)
    lines = []
    good = snapshot.state.key_accepted
    lines.append(("Connected" if good else "Failed") + f" — {state}")
    if snapshot.plan:
        lines.append(f"Plan: {snapshot.plan}")
    for meter in snapshot.meters:
        lines.append(f"{meter.title}: {T.meter_value_text(meter)}")
    err = T.error_text(snapshot)
    if err:
        lines.append(f"Provider said: {err}")
    for note in snapshot.notes:
        lines.append(note)
    return good, "\n".join(lines)


class AccountEditor(QDialog):
    """Add or edit one account. Keys typed here are handed to the settings dialog, never shown again."""

    def __init__(
        self,
        *,
        existing: Account | None,
        taken_ids: set[str],
        has_saved_key: bool = False,
        has_saved_management_key: bool = False,
        tester: Tester | None = None,
        spawn: Spawn | None = None,
        saved_key_lookup: Callable[[str, bool], str | None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit account" if existing else "Add account")
        self.existing = existing
        self.taken_ids = taken_ids
        self.tester = tester
        self.spawn = spawn
        self.saved_key_lookup = saved_key_lookup
        self.result_account: Account | None = None
        self.result_api_key: str | None = None
        self.result_management_key: str | None = None
        self._id_touched = existing is not None

        form = QFormLayout()
        self.provider = QComboBox()
        for provider_id in PROVIDER_IDS:
            self.provider.addItem(get_provider(provider_id).display_name, provider_id)
        self.label = QLineEdit()
        self.label.setPlaceholderText("e.g. Work key")
        self.account_id = QLineEdit()
        self.account_id.setPlaceholderText("letters, digits, . _ -")
        self.base_url = QLineEdit()
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText(SAVED_PLACEHOLDER if has_saved_key else "paste the API key")
        self.management_key = QLineEdit()
        self.management_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.management_key.setPlaceholderText(
            SAVED_PLACEHOLDER if has_saved_management_key else "optional — enables usage details"
        )
        for widget in (self.api_key, self.management_key):
            widget.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, False)
        form.addRow("Provider", self.provider)
        form.addRow("Label", self.label)
        form.addRow("Account id", self.account_id)
        form.addRow("Base URL", self.base_url)
        form.addRow("API key", self.api_key)
        form.addRow("Management key", self.management_key)

        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setVisible(False)
        self.test_button = QPushButton("Test connection")
        self.test_button.setEnabled(tester is not None and spawn is not None)
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel()
        self.test_result.setObjectName("testResult")
        self.test_result.setWordWrap(True)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.try_accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(self.test_result)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

        self._last_default_url = ""
        if existing is not None:
            index = self.provider.findData(existing.provider)
            self.provider.setCurrentIndex(max(0, index))
            self.label.setText(existing.label)
            self.account_id.setText(existing.id)
            self.account_id.setReadOnly(True)
            self.base_url.setText(existing.base_url)
            self._last_default_url = get_provider(existing.provider).default_base_url
        else:
            self._prefill_url()
        self.provider.currentIndexChanged.connect(self._prefill_url)
        self.label.textEdited.connect(self._suggest_id)
        self.account_id.textEdited.connect(self._touch_id)
        self.resize(460, self.sizeHint().height())

    # -------------------------------------------------------------- fields
    def provider_id(self) -> str:
        return str(self.provider.currentData())

    def _prefill_url(self) -> None:
        default = get_provider(self.provider_id()).default_base_url
        current = self.base_url.text().strip()
        if not current or current == self._last_default_url:
            self.base_url.setText(default)
        self._last_default_url = default

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

    def show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))

    def build_account(self) -> Account:
        """The account the fields describe; InvalidValue says what is wrong."""
        account_id = self.account_id.text().strip()
        label = self.label.text().strip()
        if not account_id:
            account_id = slugify(label) if label else ""
        if not account_id:
            raise InvalidValue("Give the account a label or an id.")
        validate_account_id(account_id)
        if self.existing is None and account_id in self.taken_ids:
            raise InvalidValue(f"An account with id {account_id!r} already exists: choose another id.")
        base_url = validate_base_url(self.base_url.text())
        previous = self.existing
        return Account(
            id=account_id,
            provider=self.provider_id(),
            label=label or account_id,
            base_url=base_url,
            fast_interval_s=previous.fast_interval_s if previous else None,
            full_interval_s=previous.full_interval_s if previous else None,
        )

    def try_accept(self) -> None:
        try:
            account = self.build_account()
        except InvalidValue as exc:
            self.show_error(str(exc))
            return
        api_key = self.api_key.text().strip()
        if self.existing is None and not api_key:
            self.show_error("The API key is empty: paste the key from the provider's dashboard.")
            return
        if self.api_key.text() and not api_key:
            self.show_error("The API key is only spaces.")
            return
        self.result_account = account
        self.result_api_key = api_key or None
        self.result_management_key = self.management_key.text().strip() or None
        self._clear_key_fields()
        self.accept()

    def _clear_key_fields(self) -> None:
        self.api_key.clear()
        self.management_key.clear()

    def reject(self) -> None:
        self._clear_key_fields()
        super().reject()

    # --------------------------------------------------------------- test
    def test_connection(self) -> None:
        if self.tester is None or self.spawn is None:
            return
        try:
            account = self.build_account()
        except InvalidValue as exc:
            self.show_error(str(exc))
            return
        api_key = self.api_key.text().strip()
        management_key = self.management_key.text().strip() or None
        try:
            if not api_key and self.existing is not None and self.saved_key_lookup is not None:
                api_key = self.saved_key_lookup(account.id, False) or ""
            if management_key is None and self.existing is not None and self.saved_key_lookup is not None:
                management_key = self.saved_key_lookup(account.id, True)
        except SecretStoreError as exc:
            self.show_error(str(exc))
            return
        if not api_key:
            self.show_error("The API key is empty: paste the key to test it.")
            return
        self.show_error(None)
        self.test_button.setEnabled(False)
        self.test_result.setStyleSheet("")
        self.test_result.setText("Testing…")
        self.spawn(self.tester(account, api_key, management_key), self._test_done)

    def _test_done(self, result: Any, error: BaseException | None) -> None:
        self.test_button.setEnabled(True)
        if error is not None:
            self.test_result.setStyleSheet(ERROR_STYLE)
            self.test_result.setText(f"Test failed: {error}")
            return
        ok, text = describe_test_result(result)
        self.test_result.setStyleSheet(OK_STYLE if ok else ERROR_STYLE)
        self.test_result.setText(text)


class SettingsDialog(QDialog):
    saved = Signal(object)  # the saved Config

    def __init__(
        self,
        config_store: Any,
        secrets: Any,
        *,
        tester: Tester | None = None,
        spawn: Spawn | None = None,
        autostart: Callable[[bool], Any] | None = None,
        autostart_enabled: Callable[[], bool] | None = None,
        pin_choices: Sequence[tuple[str, str]] = (),
        config: Config | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")  # Qt appends " — Traywidget" itself
        self.store = config_store
        self.secrets = secrets
        self.tester = tester
        self.spawn = spawn
        self.autostart = autostart
        self.config: Config = config if config is not None else config_store.load()
        self._pending_keys: dict[tuple[str, bool], str] = {}
        self._removed: set[str] = set()
        self._autostart_initial = False
        if autostart_enabled is not None:
            try:
                self._autostart_initial = bool(autostart_enabled())
            except Exception as exc:  # noqa: BLE001 - a broken autostart check must not block settings
                log.warning("autostart status unknown: %s", exc)

        layout = QVBoxLayout(self)
        # --- accounts
        accounts_box = QGroupBox("Accounts")
        acc_layout = QVBoxLayout(accounts_box)
        self.accounts = QListWidget()
        self.accounts.itemDoubleClicked.connect(lambda _item: self.edit_account())
        acc_layout.addWidget(self.accounts)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add…")
        self.add_button.clicked.connect(lambda: self.add_account())
        self.edit_button = QPushButton("Edit…")
        self.edit_button.clicked.connect(lambda: self.edit_account())
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_account)
        row.addWidget(self.add_button)
        row.addWidget(self.edit_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        acc_layout.addLayout(row)
        layout.addWidget(accounts_box)

        # --- alerts & polling
        s = self.config.settings
        opts = QGroupBox("Alerts and polling")
        form = QFormLayout(opts)
        levels = sorted(s.thresholds.levels, reverse=True) + [0.20, 0.05]
        self.low_pct = QSpinBox()
        self.low_pct.setRange(1, 99)
        self.low_pct.setSuffix(" %")
        self.low_pct.setValue(round(levels[0] * 100))
        self.critical_pct = QSpinBox()
        self.critical_pct.setRange(1, 99)
        self.critical_pct.setSuffix(" %")
        self.critical_pct.setValue(round((levels[1] if len(s.thresholds.levels) > 1 else 0.05) * 100))
        form.addRow("Warn when below", self.low_pct)
        form.addRow("Warn again below", self.critical_pct)
        self.fast_s = QDoubleSpinBox()
        self.full_s = QDoubleSpinBox()
        for box, value in ((self.fast_s, s.fast_interval_s), (self.full_s, s.full_interval_s)):
            box.setRange(MIN_INTERVAL_S, MAX_INTERVAL_S)
            box.setDecimals(0)
            box.setSuffix(" s")
            box.setValue(value)
        form.addRow("Quick check every", self.fast_s)
        form.addRow("Full check every", self.full_s)
        self.pin = QComboBox()
        self.pin.addItem("Automatic — the window that runs out first", None)
        for value, text in pin_choices:
            self.pin.addItem(text, value)
        if s.pinned_meter and self.pin.findData(s.pinned_meter) < 0:
            self.pin.addItem(s.pinned_meter, s.pinned_meter)
        self.pin.setCurrentIndex(max(0, self.pin.findData(s.pinned_meter)) if s.pinned_meter else 0)
        form.addRow("Badge shows", self.pin)
        self.icon_per_account = QCheckBox("One tray icon per account")
        self.icon_per_account.setChecked(s.icon_per_account)
        form.addRow("", self.icon_per_account)
        self.notifications = QCheckBox("Desktop notifications")
        self.notifications.setChecked(s.notifications)
        form.addRow("", self.notifications)
        self.start_at_login = QCheckBox("Start at login")
        self.start_at_login.setChecked(self._autostart_initial)
        self.start_at_login.setEnabled(autostart is not None)
        form.addRow("", self.start_at_login)
        layout.addWidget(opts)

        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setVisible(False)
        layout.addWidget(self.error)
        for warning in self.config.warnings:
            self.show_error(warning)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        layout.addWidget(buttons)
        self._fill_accounts()
        self.resize(480, 560)

    # ----------------------------------------------------------- accounts
    def _fill_accounts(self) -> None:
        current = self.selected_id()
        self.accounts.clear()
        for account in self.config.accounts:
            provider = display_name(account.provider)
            item = QListWidgetItem(f"{account.label}  —  {provider}  ({account.id})")
            item.setData(Qt.ItemDataRole.UserRole, account.id)
            self.accounts.addItem(item)
            if account.id == current:
                self.accounts.setCurrentItem(item)
        if self.accounts.currentRow() < 0 and self.accounts.count():
            self.accounts.setCurrentRow(0)
        has = self.accounts.count() > 0
        self.edit_button.setEnabled(has)
        self.remove_button.setEnabled(has)

    def selected_id(self) -> str | None:
        item = self.accounts.currentItem() if hasattr(self, "accounts") else None
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def _has_saved(self, account_id: str, management: bool) -> bool:
        """Whether a key is saved (only shown as a placeholder; never put in a field)."""
        if (account_id, management) in self._pending_keys:
            return True
        if account_id in self._removed:
            return False
        try:
            return self.secrets.get(account_id, management) is not None
        except SecretStoreError:
            return False

    def _saved_key_lookup(self, account_id: str, management: bool) -> str | None:
        pending = self._pending_keys.get((account_id, management))
        return pending if pending is not None else self.secrets.get(account_id, management)

    def make_editor(self, existing: Account | None) -> AccountEditor:
        taken = {a.id for a in self.config.accounts}
        return AccountEditor(
            existing=existing,
            taken_ids=taken - ({existing.id} if existing else set()),
            has_saved_key=existing is not None and self._has_saved(existing.id, False),
            has_saved_management_key=existing is not None and self._has_saved(existing.id, True),
            tester=self.tester,
            spawn=self.spawn,
            saved_key_lookup=self._saved_key_lookup,
            parent=self,
        )

    def add_account(self, editor: AccountEditor | None = None) -> Account | None:
        editor = editor or self.make_editor(None)
        if editor.result_account is None and editor.exec() != QDialog.DialogCode.Accepted:
            return None
        return self._apply_editor(editor)

    def edit_account(self, editor: AccountEditor | None = None) -> Account | None:
        account_id = self.selected_id()
        existing = self.config.account(account_id) if account_id else None
        if existing is None:
            return None
        editor = editor or self.make_editor(existing)
        if editor.result_account is None and editor.exec() != QDialog.DialogCode.Accepted:
            return None
        return self._apply_editor(editor)

    def _apply_editor(self, editor: AccountEditor) -> Account | None:
        account = editor.result_account
        if account is None:
            return None
        self.config = self.config.with_account(account)
        self._removed.discard(account.id)
        if editor.result_api_key:
            self._pending_keys[(account.id, False)] = editor.result_api_key
        if editor.result_management_key:
            self._pending_keys[(account.id, True)] = editor.result_management_key
        editor.result_api_key = editor.result_management_key = None
        self._fill_accounts()
        for row in range(self.accounts.count()):
            if self.accounts.item(row).data(Qt.ItemDataRole.UserRole) == account.id:
                self.accounts.setCurrentRow(row)
        return account

    def remove_account(self) -> None:
        account_id = self.selected_id()
        if account_id is None:
            return
        self.config = self.config.without_account(account_id)
        self._pending_keys.pop((account_id, False), None)
        self._pending_keys.pop((account_id, True), None)
        self._removed.add(account_id)
        self._fill_accounts()

    # --------------------------------------------------------------- save
    def show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))

    def build_config(self) -> Config:
        low, critical = self.low_pct.value(), self.critical_pct.value()
        if critical >= low:
            raise InvalidValue("The second warning level must be below the first (e.g. 20 % and 5 %).")
        if self.full_s.value() < self.fast_s.value():
            raise InvalidValue("The full check cannot be more frequent than the quick check.")
        settings = replace(
            self.config.settings,
            thresholds=Thresholds((low / 100.0, critical / 100.0)),
            fast_interval_s=float(self.fast_s.value()),
            full_interval_s=float(self.full_s.value()),
            pinned_meter=self.pin.currentData(),
            icon_per_account=self.icon_per_account.isChecked(),
            notifications=self.notifications.isChecked(),
        )
        return replace(self.config, settings=settings, warnings=())

    def save(self) -> bool:
        try:
            config = self.build_config()
        except InvalidValue as exc:
            self.show_error(str(exc))
            return False
        # 1. keys first: if the keyring refuses, nothing else changes and the dialog keeps them.
        for (account_id, management), secret in list(self._pending_keys.items()):
            try:
                self.secrets.set(account_id, secret, management=management)
            except SecretStoreError as exc:
                self.show_error(f"{exc}\nNothing was saved; your changes are still here.")
                return False
            del self._pending_keys[(account_id, management)]
        # 2. the config file.
        try:
            self.store.save(config)
        except ConfigError as exc:
            self.show_error(str(exc))
            return False
        self.config = config
        # 3. forget removed accounts' keys (best effort: the account is already gone).
        problems = []
        for account_id in sorted(self._removed):
            for management in (False, True):
                try:
                    self.secrets.delete(account_id, management=management)
                except SecretStoreError as exc:
                    problems.append(str(exc))
        self._removed.clear()
        # 4. start at login.
        if self.autostart is not None and self.start_at_login.isChecked() != self._autostart_initial:
            try:
                self.autostart(self.start_at_login.isChecked())
                self._autostart_initial = self.start_at_login.isChecked()
            except Exception as exc:  # noqa: BLE001 - shown to the user
                problems.append(f"Start at login could not be changed: {exc}")
        self.saved.emit(config)
        if problems:
            self.show_error("Saved, but:\n" + "\n".join(problems))
            return True
        self.accept()
        return True

    def texts(self) -> list[str]:
        """Every text any widget of the dialog holds (tests: keys must never appear)."""
        out: list[str] = []
        for widget in self.findChildren(QWidget):
            for getter in ("text", "placeholderText", "toolTip", "currentText"):
                fn = getattr(widget, getter, None)
                if callable(fn):
                    try:
                        value = fn()
                    except TypeError:
                        continue
                    if isinstance(value, str) and value:
                        out.append(value)
        for row in range(self.accounts.count()):
            out.append(self.accounts.item(row).text())
        return out
