"""The account dialog's guard rails: a reserve of requests and a daily spend cap, held through the gateway."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from traywidget.i18n import tr
from traywidget.i18n.numbers import conventions
from traywidget.model import Rails
from traywidget.ui.colors import MUTED, set_tone

MAX_RESERVE = 1_000_000
MAX_CAP = 1_000_000.0


class RailsBox(QGroupBox):
    def __init__(self, rails: Rails, parent: QWidget | None = None) -> None:
        super().__init__(tr("Guard rails (traffic through the gateway)"), parent)
        form = QFormLayout(self)
        explain = QLabel(tr("Hold your tools' requests through the gateway when few requests are left (the rest "
                            "stays yours to use directly), or when today's reported cost reaches a cap. The hold "
                            "ends at the window's reset or at midnight, or when you resume."))
        explain.setWordWrap(True)
        set_tone(explain, MUTED)
        form.addRow(explain)
        self.reserve = QSpinBox()
        self.reserve.setRange(0, MAX_RESERVE)
        self.reserve.setSpecialValueText(tr("Off"))
        self.reserve.setValue(rails.reserve or 0)
        self.reserve_window = QComboBox()
        for value, text in (("minute", tr("this minute")), ("hour", tr("this hour")), ("day", tr("today"))):
            self.reserve_window.addItem(text, value)
        self.reserve_window.setCurrentIndex(max(0, self.reserve_window.findData(rails.reserve_window)))
        row = QHBoxLayout()
        row.addWidget(self.reserve)
        row.addWidget(QLabel(tr("requests left")))
        row.addWidget(self.reserve_window)
        row.addStretch(1)
        form.addRow(tr("Hold below"), row)
        self.daily_cap = QDoubleSpinBox()
        self.daily_cap.setRange(0.0, MAX_CAP)
        self.daily_cap.setDecimals(2)
        # The amount in USD, written the way the language writes money ("$5.00", "5,00 $", "US$5.00").
        prefix, _, suffix = conventions().money.partition("{number}")
        self.daily_cap.setPrefix(prefix)
        self.daily_cap.setSuffix(suffix)
        self.daily_cap.setSpecialValueText(tr("Off"))
        self.daily_cap.setValue(rails.daily_cap or 0.0)
        form.addRow(tr("Hold at today's spend"), self.daily_cap)

    def rails(self) -> Rails:
        """The rails as set (0 is off)."""
        return Rails(reserve=self.reserve.value() or None, reserve_window=str(self.reserve_window.currentData()),
                     daily_cap=self.daily_cap.value() or None)
