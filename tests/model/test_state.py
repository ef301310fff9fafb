"""The questions every view asks of a state, answered once: the whole table, state by state."""

from __future__ import annotations

import pytest

from traywidget.model import State

# state: (is_quota_reading, is_fine, needs_user, is_transient, key_accepted, is_poll_failure)
TABLE = {
    State.OK: (True, True, False, False, True, False),
    State.LOW: (True, True, False, False, True, False),
    State.EXHAUSTED: (True, False, False, False, True, False),
    State.RATE_LIMITED: (False, False, False, False, True, True),
    State.AUTH_ERROR: (False, False, True, False, False, True),
    State.PAYMENT_REQUIRED: (False, False, True, False, False, True),
    State.NO_KEY: (False, False, True, False, False, False),
    State.OFFLINE: (False, False, False, True, False, True),
    State.ERROR: (False, False, False, True, False, True),
    State.BLOCKED: (False, False, False, False, False, True),
}


def test_the_table_covers_every_state() -> None:
    assert set(TABLE) == set(State)


@pytest.mark.parametrize("state", list(State), ids=lambda s: s.value)
def test_predicates(state: State) -> None:
    assert (state.is_quota_reading, state.is_fine, state.needs_user, state.is_transient, state.key_accepted,
            state.is_poll_failure) == TABLE[state]


def test_values_are_the_documented_json_strings_in_display_order() -> None:
    assert [s.value for s in State] == ["ok", "low", "exhausted", "rate_limited", "auth_error",
                                        "payment_required", "no_key", "offline", "error", "blocked"]
    assert State("rate_limited") is State.RATE_LIMITED
    assert f"{State.NO_KEY}" == "no_key"


def test_a_quota_fact_is_never_an_account_error() -> None:
    """Exit code 0 for an exhausted window and a 429: they are answers, not failures."""
    from traywidget.model import EXIT_OK
    from traywidget.present.severity import STATE_SEVERITY, exit_code

    assert [s for s in State if exit_code([STATE_SEVERITY[s]]) != EXIT_OK
            and (s.is_quota_reading or s is State.RATE_LIMITED)] == []
