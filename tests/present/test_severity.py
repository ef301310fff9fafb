"""The one severity (present/severity.py): every state has a level, the levels are ordered, the exit code follows."""

from __future__ import annotations

import pytest

from traywidget.model import Meter, Snapshot, State, Thresholds, Unit
from traywidget.present.severity import (
    STATE_SEVERITY,
    Severity,
    exit_code,
    meter_severity,
    severity_of,
    worst,
)

EXPECTED = {
    State.OK: Severity.FINE,
    State.LOW: Severity.LOW,
    State.OFFLINE: Severity.FAILING,
    State.ERROR: Severity.FAILING,
    State.EXHAUSTED: Severity.REFUSED,
    State.RATE_LIMITED: Severity.REFUSED,
    State.AUTH_ERROR: Severity.ACTION,
    State.PAYMENT_REQUIRED: Severity.ACTION,
    State.NO_KEY: Severity.ACTION,
    State.BLOCKED: Severity.ACTION,
}


def snap(state: State, account_id: str = "a") -> Snapshot:
    return Snapshot(account_id, "routing.run", account_id.upper(), state)


def test_every_state_has_its_level():
    assert set(STATE_SEVERITY) == set(State)
    assert {state: severity_of(snap(state)) for state in State} == EXPECTED


def test_levels_are_ordered_and_named_for_json_and_waybar():
    assert sorted(Severity) == [Severity.FINE, Severity.LOW, Severity.FAILING, Severity.REFUSED, Severity.ACTION]
    assert [level.word for level in Severity] == ["fine", "low", "failing", "refused", "action"]


def test_worst_of_accounts():
    assert worst([]) is None
    assert worst([snap(State.OK), snap(State.OFFLINE, "b"), snap(State.LOW, "c")]) is Severity.FAILING
    assert worst([snap(State.RATE_LIMITED), snap(State.NO_KEY, "b")]) is Severity.ACTION


@pytest.mark.parametrize(("levels", "code"), [
    ([], 0), ([Severity.FINE, Severity.LOW], 0), ([Severity.FAILING], 1), ([Severity.FINE, Severity.REFUSED], 0),
    ([Severity.ACTION], 1), ([Severity.REFUSED, Severity.FAILING], 1),
])
def test_exit_code_a_refusal_is_an_answer_failing_and_action_are_not(levels, code):
    assert exit_code(levels) == code


def test_a_window_is_refused_at_zero_low_at_the_threshold_and_unknown_without_an_amount():
    def hour(remaining):
        return Meter("requests_hour", Unit.REQUESTS, limit=500, remaining=remaining)

    thresholds = Thresholds((0.20, 0.05))
    assert [meter_severity(hour(r), thresholds) for r in (0, 100, 101, None)] == [
        Severity.REFUSED, Severity.LOW, Severity.FINE, None]
    assert meter_severity(Meter("balance", Unit.USD, remaining=-1), thresholds) is Severity.REFUSED
