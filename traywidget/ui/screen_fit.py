"""Dialogs that fit the screen they open on: content scrolls, the buttons stay pinned below it.

Settings and the account dialog hold more than a small screen at 2x shows
(1280x720 at QT_SCALE_FACTOR=2 leaves 640x360 logical pixels). Each puts
its fields in a ScrollingBody and calls fit_to_screen when it is shown and
when a message grows it: the window takes the height its content wants, at
most the screen's available geometry, and is moved back inside it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QFrame, QScrollArea, QVBoxLayout, QWidget

# Room kept free around a window for a window manager's frame and title bar (not known before it is mapped).
FRAME_ALLOWANCE = QSize(16, 40)


class ScrollingBody(QScrollArea):
    """A scroll area for a dialog's fields, no frame of its own. It scrolls sideways only when the screen is
    narrower than the fields' least width (text wraps before that).

    The wheel scrolls the page, never a field it passes over: a number box or a choice under the pointer
    changes only once it was clicked (focused). Otherwise scrolling down Settings would change the
    gateway's port on the way, unseen, and Save would keep it.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.content = QWidget()
        self.content_layout = QVBoxLayout(self.content)
        self.content_layout.setContentsMargins(0, 0, 0, 0)
        self.setWidget(self.content)
        self._wheel_to_page = _WheelToPage(self)

    def guard_fields(self) -> None:
        """Keep the wheel for the page on every number box and choice in the content (call after filling it)."""
        for field in self.content.findChildren(QAbstractSpinBox) + self.content.findChildren(QComboBox):
            field.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a wheel never gives a field the focus
            field.installEventFilter(self._wheel_to_page)

    def wanted_height(self, width: int) -> int:
        """The height that shows all the content without scrolling, at this width of the scroll area."""
        layout = self.content_layout
        layout.activate()
        inner = max(1, width - 2 * self.frameWidth())
        height = layout.heightForWidth(inner) if layout.hasHeightForWidth() else layout.sizeHint().height()
        return max(height, layout.minimumSize().height()) + 2 * self.frameWidth()

    def least_width(self) -> int:
        """The width that shows the fields without cutting them, with room for the vertical scroll bar."""
        return (self.content.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width()
                + 2 * self.frameWidth())


class _WheelToPage(QObject):
    """An event filter on a field: a wheel over it while it has no focus scrolls the page instead."""

    def __init__(self, body: ScrollingBody) -> None:
        super().__init__(body)
        self._body = body

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            QApplication.sendEvent(self._body.verticalScrollBar(), event)  # the page scrolls instead
            return True
        return False


def available_rect(window: QWidget) -> QRect:
    """The screen's available geometry (without panels and docks) where `window` opens, less a frame's room."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    available = screen.availableGeometry()
    return available.adjusted(0, 0, -FRAME_ALLOWANCE.width(), -FRAME_ALLOWANCE.height())


def fit_to_screen(window: QWidget, body: ScrollingBody, wanted_width: int, *, grow_only: bool = False) -> None:
    """Size `window` so that `body` shows everything when the screen allows, else scrolls; keep it on screen.

    `grow_only`: never shrink (a message appeared; the user may have made the window larger).
    """
    outer = window.layout()
    if outer is None:
        raise ValueError("fit_to_screen needs a window with a layout")
    outer.activate()
    available = available_rect(window)
    margins = outer.contentsMargins().left() + outer.contentsMargins().right()
    width = min(max(wanted_width, window.minimumSizeHint().width(), body.least_width() + margins), available.width())
    if grow_only:
        width = max(width, min(window.width(), available.width()))
    chrome = outer.sizeHint().height() - body.sizeHint().height()
    body_width = width - margins
    height = min(chrome + body.wanted_height(body_width), available.height())
    if grow_only:
        height = max(height, min(window.height(), available.height()))
    window.resize(width, height)
    where = window.pos()
    # Back inside the available area (Qt placed it before it knew its final size).
    x = min(max(where.x(), available.left()), available.left() + available.width() - width)
    y = min(max(where.y(), available.top()), available.top() + available.height() - height)
    if (x, y) != (where.x(), where.y()):
        window.move(x, y)
