"""The scheduling rules, pinned with exact numbers: no engine, no asyncio, no HTTP."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from traywidget.engine import schedule
from traywidget.engine.schedule import AccountSchedule, Cadence
from traywidget.model import Meter, State, Unit

WALL = datetime(2026, 11, 22, 10, 20, 0, tzinfo=UTC)
NOW = 1000.0


class FixedJitter:
    """uniform(a, b) always lands at the same fraction of the way from a to b."""

    def __init__(self, fraction: float) -> None:
        self.fraction = fraction

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.fraction


MIDPOINT = FixedJitter(0.5)


def hour(remaining: float, limit: float = 500, resets_at: datetime | None = None, approximate=False) -> Meter:
    return Meter("requests_hour", Unit.REQUESTS, used=limit - remaining, limit=limit, remaining=remaining,
                 resets_at=resets_at, approximate_reset=approximate)


def success(s: AccountSchedule, cadence: Cadence = Cadence(), *, full=True, changed=True, meters=(), now=NOW,
            wall=WALL) -> AccountSchedule:
    return schedule.after_success(s, cadence, full=full, changed=changed, meters=meters, now=now, wall_now=wall)


def test_a_new_account_is_due_at_once_and_polls_full():
    fresh = AccountSchedule()
    assert schedule.due_at(fresh) == 0.0
    assert schedule.next_poll_is_full(fresh, NOW)


def test_due_is_the_nearer_timer_but_never_before_retry_after():
    assert schedule.due_at(AccountSchedule(next_fast=1060, next_full=1300)) == 1060
    assert schedule.due_at(AccountSchedule(next_fast=1060, next_full=1030)) == 1030
    assert schedule.due_at(AccountSchedule(next_fast=1060, next_full=1300, not_before=1120)) == 1120
    assert not schedule.next_poll_is_full(AccountSchedule(next_fast=1060, next_full=1300), 1060)
    assert schedule.next_poll_is_full(AccountSchedule(next_fast=1060, next_full=1300), 1300)


def test_a_refresh_moves_both_timers_but_not_retry_after():
    waiting = AccountSchedule(next_fast=1060, next_full=1300, not_before=1120)
    assert schedule.poll_now(waiting, NOW) == AccountSchedule(next_fast=NOW, next_full=NOW, not_before=1120)
    assert schedule.due_at(schedule.poll_now(waiting, NOW)) == 1120
    assert schedule.poll_fast_now(waiting, NOW) == AccountSchedule(next_fast=NOW, next_full=1300, not_before=1120)


def test_first_success_sets_both_cadences():
    after = success(AccountSchedule())
    assert after == AccountSchedule(next_fast=NOW + 60, next_full=NOW + 300, error_streak=0, quiet_streak=0)


def test_per_account_intervals_override_the_users_cadence():
    own = schedule.for_account(Cadence(), 30.0, None)
    assert (own.fast_s, own.full_s) == (30.0, 300.0)
    after = success(AccountSchedule(), own)
    assert (after.next_fast, after.next_full) == (NOW + 30, NOW + 300)


def test_quiet_accounts_slow_down_stepwise_up_to_the_max_factor():
    cadence = Cadence(fast_s=60, full_s=300, quiet_polls_per_step=2, quiet_max_factor=4)
    s = AccountSchedule()
    fast, full = [], []
    for _ in range(7):
        s = success(s, cadence, changed=False)
        fast.append(s.next_fast - NOW)
        full.append(s.next_full - NOW)
    assert fast == [60, 120, 120, 240, 240, 240, 240]
    assert full == [300, 600, 600, 1200, 1200, 1200, 1200]
    assert s.quiet_streak == 7
    s = success(s, cadence, changed=True)  # a change: back to the plain cadence
    assert (s.next_fast - NOW, s.quiet_streak) == (60, 0)


def test_near_exhaustion_polls_at_near_s_whatever_the_quiet_factor():
    cadence = Cadence(quiet_polls_per_step=1)
    quiet = AccountSchedule(quiet_streak=5)
    assert success(quiet, cadence, changed=False, meters=[hour(420)]).next_fast - NOW == 240
    assert success(quiet, cadence, changed=False, meters=[hour(50)]).next_fast - NOW == 20  # 10 % left
    assert success(quiet, cadence, changed=False, meters=[hour(51)]).next_fast - NOW == 240
    # Nothing left is not "near": it waits for the reset instead.
    assert success(quiet, cadence, changed=False, meters=[hour(0)]).next_fast - NOW == 240


def test_a_poll_follows_a_known_reset_by_the_grace():
    wall = WALL.replace(minute=59, second=30)  # the hour resets in 30 s
    meters = [hour(420, resets_at=WALL.replace(hour=11, minute=0))]
    after = success(AccountSchedule(), Cadence(reset_grace_s=2), meters=meters, wall=wall)
    assert (after.next_fast - NOW, after.next_full - NOW) == (32, 32)
    # A rolling window's reset is only an estimate: not chased.
    rolling = [hour(420, resets_at=wall + timedelta(seconds=10), approximate=True)]
    after = success(AccountSchedule(), Cadence(), meters=rolling, wall=wall)
    assert (after.next_fast - NOW, after.next_full - NOW) == (60, 300)


def test_a_fast_poll_keeps_the_next_full_poll_unless_a_reset_comes_first():
    s = AccountSchedule(next_fast=NOW, next_full=NOW + 200)
    after = success(s, full=False)
    assert (after.next_fast, after.next_full) == (NOW + 60, NOW + 200)
    soon = [hour(420, resets_at=WALL + timedelta(seconds=100))]
    after = success(s, full=False, meters=soon)
    assert (after.next_fast, after.next_full) == (NOW + 60, NOW + 102)


def test_backoff_doubles_with_equal_jitter_up_to_the_max():
    cadence = Cadence(backoff_base_s=15, backoff_max_s=900)
    for fraction, expected in ((0.0, [7.5, 15, 30, 60, 120, 240, 450, 450]),
                               (0.5, [11.25, 22.5, 45, 90, 180, 360, 675, 675]),
                               (1.0, [15, 30, 60, 120, 240, 480, 900, 900])):
        s = AccountSchedule()
        delays = []
        for _ in range(8):
            s = schedule.after_error(s, cadence, retry_after_s=None, now=NOW, rng=FixedJitter(fraction))
            assert s.next_fast == s.next_full
            delays.append(s.next_full - NOW)
        assert delays == expected
        assert s.error_streak == 8 and s.not_before == 0.0


def test_random_jitter_stays_between_half_and_all_of_the_nominal_delay():
    rng = random.Random(7)
    cadence = Cadence(backoff_base_s=10, backoff_max_s=200)
    for streak in range(1, 12):
        nominal = min(200, 10 * 2 ** (streak - 1))
        delays = {schedule.backoff_delay(cadence, streak, rng) for _ in range(50)}
        assert nominal / 2 <= min(delays) and max(delays) <= nominal
        assert len(delays) > 1


def test_a_short_retry_after_never_hides_a_growing_error_streak():
    """The bug: six 429s with Retry-After: 1 gave a poll every second."""
    s = AccountSchedule()
    delays, now = [], NOW
    for _ in range(6):
        s = schedule.after_error(s, Cadence(), retry_after_s=1, now=now, rng=MIDPOINT)
        delays.append(s.next_full - now)
        assert s.not_before == now + 1
        now = s.next_full
    assert delays == [11.25, 22.5, 45, 90, 180, 360]


def test_a_long_retry_after_wins_over_the_backoff_and_blocks_every_poll():
    s = schedule.after_error(AccountSchedule(), Cadence(), retry_after_s=120, now=NOW, rng=MIDPOINT)
    assert (s.next_fast, s.next_full, s.not_before, s.error_streak) == (NOW + 120, NOW + 120, NOW + 120, 1)
    assert schedule.due_at(schedule.poll_now(s, NOW + 5)) == NOW + 120  # "Refresh now" meanwhile


def test_retry_after_is_capped():
    cadence = Cadence(retry_after_cap_s=3600)
    s = schedule.after_error(AccountSchedule(), cadence, retry_after_s=10 ** 9, now=NOW, rng=MIDPOINT)
    assert (s.next_full, s.not_before) == (NOW + 3600, NOW + 3600)


def test_hold_off_keeps_the_later_retry_after():
    s = schedule.hold_off(AccountSchedule(not_before=NOW + 50), Cadence(), 20, NOW)
    assert s.not_before == NOW + 50
    s = schedule.hold_off(s, Cadence(), 90, NOW)
    assert s == AccountSchedule(not_before=NOW + 90)  # timers untouched: only "not before"


def test_success_clears_the_error_streak_but_not_a_pending_retry_after():
    s = AccountSchedule(error_streak=4, quiet_streak=0, not_before=NOW + 30)
    after = success(s)
    assert (after.error_streak, after.not_before, schedule.due_at(after)) == (0, NOW + 30, NOW + 60)


def test_no_key_is_looked_at_again_after_the_recheck_interval():
    s = AccountSchedule(error_streak=2, quiet_streak=3)
    after = schedule.after_no_key(s, Cadence(no_key_recheck_s=300), NOW)
    assert after == AccountSchedule(next_fast=NOW + 300, next_full=NOW + 300, error_streak=2, quiet_streak=3)


@pytest.mark.parametrize(("state", "expected_fast"), [
    (State.OK, 60), (State.LOW, 60), (State.EXHAUSTED, 60),
    (State.NO_KEY, 300),
    (State.RATE_LIMITED, 11.25), (State.AUTH_ERROR, 11.25), (State.PAYMENT_REQUIRED, 11.25),
    (State.OFFLINE, 11.25), (State.ERROR, 11.25),
])
def test_after_poll_picks_the_rule_by_state(state, expected_fast):
    after = schedule.after_poll(AccountSchedule(), Cadence(), state=state, retry_after_s=None, meters=(),
                                changed=True, full=True, now=NOW, wall_now=WALL, rng=MIDPOINT)
    assert after.next_fast - NOW == expected_fast


def test_after_poll_honours_retry_after_of_a_refusal():
    after = schedule.after_poll(AccountSchedule(), Cadence(), state=State.RATE_LIMITED, retry_after_s=40,
                                meters=(), changed=True, full=True, now=NOW, wall_now=WALL, rng=MIDPOINT)
    assert (after.next_fast, after.not_before) == (NOW + 40, NOW + 40)


def test_default_budget_is_the_documented_value():
    # docs/guarantees.md states at most 72 usage requests per account per hour at the defaults.
    assert schedule.requests_budget_per_hour() == 72
    assert schedule.requests_budget_per_hour(Cadence(fast_s=90, full_s=600)) == 46
