"""The floor: a bare PySide6 tray app (QApplication + QSystemTrayIcon with a drawn icon).

Prints "bare-tray: icon shown" once the icon is shown, then idles until SIGTERM.
Used by the start-up benchmark as the baseline the app is compared against.
"""

import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QSystemTrayIcon


def show_icon() -> QSystemTrayIcon:
    """A tray icon with a drawn badge (the same for every floor measured)."""
    pixmap = QPixmap(32, 32)
    pixmap.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    painter.setBrush(QColor("#1f9d55"))
    painter.drawRoundedRect(1, 6, 30, 20, 10, 10)
    painter.setPen(QColor("#ffffff"))
    painter.drawText(pixmap.rect(), 0x84, "42")  # AlignCenter
    painter.end()
    icon = QSystemTrayIcon(QIcon(pixmap))
    icon.show()
    return icon


def main() -> int:
    app = QApplication(sys.argv)
    app.setQuitOnLastWindowClosed(False)
    icon = show_icon()  # noqa: F841 - kept alive while the app runs
    QTimer.singleShot(0, lambda: print("bare-tray: icon shown", flush=True))
    signal.signal(signal.SIGTERM, lambda *_: app.quit())
    ticker = QTimer()  # let Python see SIGTERM
    ticker.start(500)
    ticker.timeout.connect(lambda: None)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
