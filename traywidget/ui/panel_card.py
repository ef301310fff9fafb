"""One account's card in the panel: its header (dot, label, state), provider, plan and age, the last error,
streams and gateway traffic, and a row per meter (bar, "remaining / limit", reset countdown, % left, pace
forecast, sparkline)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from traywidget.i18n import tr, trn
from traywidget.i18n.numbers import percent as percent_text
from traywidget.model import Freshness, Meter, Snapshot, State, Thresholds
from traywidget.present.formatting import meter_title, reset_phrase
from traywidget.present.pace import (
    HistorySource,
    Pace,
    basis_text,
    estimate_from,
    pace_text,
)
from traywidget.present.severity import meter_severity, severity_of
from traywidget.present.text import (
    account_state_text,
    age_text,
    ago_text,
    binding_meter,
    error_text,
    freshness_text,
    gateway_usage_text,
    held_sentence,
    meter_value_text,
    short_error,
    state_text,
    state_word,
    with_state,
)
from traywidget.providers import display_name
from traywidget.ui.badge import LEVEL_COLORS, NONE, SEVERITY_COLORS, STALE
from traywidget.ui.colors import (
    ERROR,
    MUTED,
    WARNING,
    apply_tones,
    set_tone,
    wrapped_label,
)
from traywidget.ui.panel_widgets import SPARK_WINDOW_S, ElidedLabel, MeterBar, Sparkline, StatusDot

# Space kept free between the panel and the screen's edges or the tray icon.


def _small(label: QLabel) -> QLabel:
    font = label.font()
    font.setPointSizeF(max(6.0, font.pointSizeF() * 0.9))
    label.setFont(font)
    return label


class MeterRow(QWidget):
    """Title and "remaining / limit" above the bar; the reset countdown and % left below; the pace last."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setSpacing(2)
        top = QHBoxLayout()
        self.title = ElidedLabel()
        self.value = QLabel()
        self.value.setTextFormat(Qt.TextFormat.PlainText)
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        font = self.value.font()
        font.setBold(True)
        self.value.setFont(font)
        top.addWidget(self.title, 1)
        top.addWidget(self.value)
        layout.addLayout(top)
        self.bar = MeterBar()
        layout.addWidget(self.bar)
        bottom = QHBoxLayout()
        self.reset = _small(ElidedLabel())
        self.percent = _small(QLabel())
        self.percent.setTextFormat(Qt.TextFormat.PlainText)
        self.percent.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for label in (self.reset, self.percent):
            set_tone(label, MUTED)
        bottom.addWidget(self.reset, 1)
        bottom.addWidget(self.percent)
        layout.addLayout(bottom)
        self.pace = _small(wrapped_label(WARNING))
        self.pace.setVisible(False)
        layout.addWidget(self.pace)
        self.meter: Meter | None = None

    def set_meter(self, meter: Meter, thresholds: Thresholds, now: datetime, dim: bool) -> None:
        self.meter = meter
        self.title.setText(meter_title(meter))
        self.value.setText(meter_value_text(meter))
        countdown = freshness_text(meter) or reset_phrase(meter.resets_at, now, meter.approximate_reset)
        self.reset.setText((countdown[0].upper() + countdown[1:]) if countdown else "")
        percent = meter.percent_left
        self.percent.setText(tr("{percent} left").format(percent=percent_text(percent)) if percent is not None else "")
        severity = meter_severity(meter, thresholds)
        level = STALE if dim else NONE if severity is None else severity.word
        self.bar.set_value(meter.fraction_left, level)
        self.bar.setVisible(meter.capped)
        self.reset.setVisible(bool(countdown) or percent is not None)
        self.percent.setVisible(percent is not None)

    def set_pace(self, pace: Pace | None, now: datetime) -> None:
        forecast = pace_text(pace, now) if pace is not None else None
        self.pace.setVisible(forecast is not None)
        if pace is None or forecast is None:
            self.pace.clear()
            return
        self.pace.setText(tr("Estimate: {forecast}").format(forecast=forecast))
        self.pace.setToolTip(basis_text(pace))


class AccountCard(QFrame):
    def __init__(self, account_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.account_id = account_id
        self.setObjectName("accountCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(4)
        head = QHBoxLayout()
        head.setSpacing(6)
        self.dot = StatusDot()
        self.title = ElidedLabel(account_id)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.08)
        self.title.setFont(font)
        self.state = QLabel()
        self.state.setTextFormat(Qt.TextFormat.PlainText)
        self.state.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        head.addWidget(self.dot, 0, Qt.AlignmentFlag.AlignVCenter)
        head.addWidget(self.title, 1)
        head.addWidget(self.state)
        layout.addLayout(head)
        self.subtitle = ElidedLabel(tr("not fetched yet"))
        set_tone(self.subtitle, MUTED)
        layout.addWidget(self.subtitle)
        self.streams = QLabel()
        self.streams.setVisible(False)
        layout.addWidget(self.streams)
        # Held by traywidget (Kill with a hold, a guard rail), and today's traffic through the gateway.
        self.held = wrapped_label(ERROR)
        self.held.setVisible(False)
        layout.addWidget(self.held)
        self.gateway_usage = wrapped_label(MUTED)
        self.gateway_usage.setVisible(False)
        layout.addWidget(self.gateway_usage)
        self.error = wrapped_label(ERROR)
        self.error.setVisible(False)
        layout.addWidget(self.error)
        self.notes = wrapped_label(MUTED)
        self.notes.setVisible(False)
        layout.addWidget(self.notes)
        self.meters_box = QVBoxLayout()
        self.meters_box.setSpacing(4)
        layout.addLayout(self.meters_box)
        self.rows: list[MeterRow] = []
        self.spark_title = ElidedLabel()
        set_tone(self.spark_title, MUTED)
        self.spark_title.setVisible(False)
        layout.addWidget(self.spark_title)
        self.sparkline = Sparkline()
        self.sparkline.setVisible(False)
        layout.addWidget(self.sparkline)
        self.snapshot: Snapshot | None = None
        self.paces: dict[str, Pace | None] = {}
        self.spark_meter: str | None = None
        self.spark_loaded_at = 0.0

    def retranslate(self, thresholds: Thresholds, now: datetime) -> None:
        self.sparkline.setToolTip(tr("Remaining over the last 24 hours"))
        if self.snapshot is None:
            self.subtitle.setText(tr("not fetched yet"))
        else:
            self.set_snapshot(self.snapshot, thresholds, now)

    def set_snapshot(self, snapshot: Snapshot, thresholds: Thresholds, now: datetime) -> None:
        self.snapshot = snapshot
        self.title.setText(snapshot.label)
        self.state.setText(state_word(snapshot))
        # The account's severity (present/severity.py), grey while the values are cached and unconfirmed.
        self.dot.set_color(LEVEL_COLORS[STALE][0] if snapshot.stale else SEVERITY_COLORS[severity_of(snapshot)])
        self.dot.setToolTip(self.state.text())
        streams = snapshot.streams or 0
        self.streams.setText(trn("{n} stream running", "{n} streams running", streams).format(n=streams))
        self.streams.setVisible(streams > 0)
        if snapshot.hold is not None:
            self.held.setText(tr("{held} \"Resume requests\" in the tray menu ends it.")
                              .format(held=held_sentence(snapshot.hold)))
        self.held.setVisible(snapshot.hold is not None)
        usage = snapshot.gateway_usage
        if usage is not None and usage.total.requests:
            self.gateway_usage.setText(gateway_usage_text(usage))
        self.gateway_usage.setVisible(usage is not None and usage.total.requests > 0)
        self.notes.setText("\n".join(tr(note) for note in snapshot.notes))
        self.notes.setVisible(bool(snapshot.notes))
        while len(self.rows) < len(snapshot.meters):
            row = MeterRow()
            self.rows.append(row)
            self.meters_box.addWidget(row)
            apply_tones(self)
        while len(self.rows) > len(snapshot.meters):
            row = self.rows.pop()
            row.setParent(None)
            row.deleteLater()
        self.tick(thresholds, now)
        bound = binding_meter([snapshot])
        self.spark_meter = bound[1].name if bound else None

    def tick(self, thresholds: Thresholds, now: datetime) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            return
        # The provider and plan, unless the label already says them ("routing.run · Premium").
        label = snapshot.label.lower()
        parts = [tr(part) for part in (display_name(snapshot.provider), snapshot.plan)
                 if part and part.lower() not in label]
        parts.append(self._freshness(snapshot, now))
        self.subtitle.setText(" · ".join(parts))
        problem = self._problem(snapshot, now)
        self.error.setText(problem or "")
        self.error.setVisible(problem is not None)
        dim = snapshot.stale or snapshot.state.is_transient or snapshot.state.needs_user
        for row, meter in zip(self.rows, snapshot.meters):
            row.set_meter(meter, thresholds, now, dim)
            row.set_pace(self.paces.get(meter.name), now)

    def _freshness(self, snapshot: Snapshot, now: datetime) -> str:
        """How old the numbers are and where they came from: the one age the menu and `status` say too."""
        return age_text(snapshot, now)

    def _problem(self, snapshot: Snapshot, now: datetime) -> str | None:
        error = error_text(snapshot)
        if snapshot.state.is_fine or (error is None and not snapshot.state.is_poll_failure):
            return None
        if snapshot.stale:
            return tr("Last known problem: {error}").format(error=error or state_text(snapshot.state))
        if snapshot.state is State.RATE_LIMITED:  # until when it holds, or when it was seen; the state says 429
            return with_state(account_state_text(snapshot), short_error(snapshot))
        if snapshot.state.is_poll_failure and snapshot.fetched_at is not None:
            ago = ago_text(snapshot.fetched_at, now)
            if error:
                return tr("The last attempt failed {ago}: {error}").format(ago=ago, error=error)
            return tr("The last attempt failed {ago}").format(ago=ago)
        return error

    def load_history(self, source: HistorySource | None, end: float, now: datetime) -> None:
        """The sparkline and the pace forecasts, from the local history."""
        self.spark_loaded_at = end
        snapshot = self.snapshot
        spark_meter = self.spark_meter
        show = source is not None and spark_meter is not None and snapshot is not None
        self.spark_title.setVisible(show)
        self.sparkline.setVisible(show)
        self.paces = {}
        if source is None or spark_meter is None or snapshot is None:
            return
        if snapshot.state.is_quota_reading and not snapshot.stale:
            read_at = snapshot.fetched_at or now
            # A window refilled by its reset is an estimate: no forecast is made from it.
            self.paces = {m.name: estimate_from(source, snapshot, m, read_at) for m in snapshot.meters
                          if m.freshness is Freshness.CURRENT}
        for row, shown in zip(self.rows, snapshot.meters):
            row.set_pace(self.paces.get(shown.name), now)
        spark = snapshot.meter(spark_meter)
        points = source(snapshot.account_id, spark_meter, end - SPARK_WINDOW_S)
        title = meter_title(spark) if spark else spark_meter
        self.spark_title.setText(tr("{meter} — last 24 hours").format(meter=title))
        self.sparkline.set_series(points, spark.limit if spark else None, end)
