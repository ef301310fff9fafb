"""Every text a window shows a person: labels, buttons, titles, tooltips, placeholders, list and menu items."""

from __future__ import annotations

from collections.abc import Iterator

from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as GuiQt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QDialogButtonBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QMenu,
    QMessageBox,
    QWidget,
)

from traywidget.ui.panel_widgets import ElidedLabel

# Qt's own button texts: Qt's catalogs translate them (tests/i18n/test_language.py checks that).
QT_BUTTONS = {"OK", "&OK", "Save", "&Save", "Cancel", "&Cancel", "Discard", "&Discard", "Close", "&Close",
              "&Yes", "&No", "Apply", "Reset"}


def _plain(label: QLabel) -> str:
    if label.textFormat() == Qt.TextFormat.RichText or (
            label.textFormat() == Qt.TextFormat.AutoText and GuiQt.mightBeRichText(label.text())):
        document = QTextDocument()
        document.setHtml(label.text())
        return document.toPlainText()
    return label.text()


def _is_qt_button(button: QAbstractButton) -> bool:
    box = button.parentWidget()
    while box is not None and not isinstance(box, (QDialogButtonBox, QMessageBox)):
        box = box.parentWidget()
    if box is None:
        return False
    standard = box.standardButton(button)
    return standard not in (QDialogButtonBox.StandardButton.NoButton, QMessageBox.StandardButton.NoButton) \
        and button.text() in QT_BUTTONS


def widget_texts(root: QWidget) -> Iterator[tuple[str, str]]:
    """(where, text) for everything `root` shows now (hidden parts left out)."""
    if root.windowTitle():
        yield f"{type(root).__name__}.windowTitle", root.windowTitle()
    for widget in [root, *root.findChildren(QWidget)]:
        if widget is not root and not widget.isVisibleTo(root):
            continue
        name = f"{type(widget).__name__}({widget.objectName() or ''})"
        if widget.toolTip():
            yield f"{name}.toolTip", widget.toolTip()
        if isinstance(widget, ElidedLabel):
            yield f"{name}.text", widget.full_text()
        elif isinstance(widget, QLabel):
            yield f"{name}.text", _plain(widget)
        elif isinstance(widget, QAbstractButton) and not _is_qt_button(widget):
            yield f"{name}.text", widget.text()
        elif isinstance(widget, QGroupBox):
            yield f"{name}.title", widget.title()
        elif isinstance(widget, QComboBox):
            for index in range(widget.count()):
                yield f"{name}.item[{index}]", widget.itemText(index)
        elif isinstance(widget, QLineEdit):
            yield f"{name}.placeholder", widget.placeholderText()
            if widget.echoMode() == QLineEdit.EchoMode.Normal:
                yield f"{name}.text", widget.text()
        elif isinstance(widget, QAbstractSpinBox):
            yield f"{name}.text", widget.text()
        elif isinstance(widget, QListWidget):
            for index in range(widget.count()):
                yield f"{name}.item[{index}]", widget.item(index).text()


def menu_texts(menu: QMenu, where: str = "menu") -> Iterator[tuple[str, str]]:
    """Every entry of `menu` and of its submenus, with their tooltips."""
    for action in menu.actions():
        if action.isSeparator() or not action.isVisible():
            continue
        yield f"{where}/{action.text()!r}", action.text()
        if action.toolTip() and action.toolTip() != action.text().replace("&", ""):
            yield f"{where}/{action.text()!r}.toolTip", action.toolTip()
        if action.menu() is not None:
            yield from menu_texts(action.menu(), f"{where}/{action.text()!r}")
