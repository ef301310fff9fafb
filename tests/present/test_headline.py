"""Which meter the badge headlines, and that it stays there: exact cases of the pure policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from traywidget.model import (
    BALANCE,
    CREDITS,
    FREE_REQUESTS_DAY,
    REQUESTS_DAY,
    REQUESTS_HOUR,
    REQUESTS_MINUTE,
    Meter,
    Snapshot,
    State,
    Unit,
)
from traywidget.present.headline import (
    HeadlinePolicy,
    parse_pin,
    pick_headline,
    refills_within_a_minute,
    window_cue,
)

NOW = datetime(2025, 6, 1, 12, 20, tzinfo=UTC)
HOUR_END = datetime(2025, 6, 1, 13, 0, tzinfo=UTC)
DAY_END = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)


def minute(left, limit=5):
    return Meter(REQUESTS_MINUTE, Unit.REQUESTS, limit=limit, remaining=left, resets_at=NOW + timedelta(seconds=60),
                 approximate_reset=True)


def hour(left, limit=500):
    return Meter(REQUESTS_HOUR, Unit.REQUESTS, limit=limit, remaining=left, resets_at=HOUR_END)


def day(left, limit=1000):
    return Meter(REQUESTS_DAY, Unit.REQUESTS, limit=limit, remaining=left, resets_at=DAY_END)


def credits(left, limit=10.0):
    return Meter(CREDITS, Unit.USD, limit=limit, remaining=left)


def balance(left):
    return Meter(BALANCE, Unit.USD, remaining=left)


def snap(account, *meters, state=State.OK, stale=False):
    return Snapshot(account_id=account, provider="routing.run", label=account.title(), state=state,
                    meters=tuple(meters), stale=stale)


def key(headline):
    return None if headline is None else headline.key


# --------------------------------------------------------------------------- the pick, without memory
@pytest.mark.parametrize("snapshots,expected", [
    # least left relative to its limit
    ([snap("a", hour(400), day(900)), snap("b", hour(300), day(100))], ("b", REQUESTS_DAY)),
    # within one 5 % band the window that resets latest wins: 10.0 % of the day beats 10.4 % of the hour ...
    ([snap("a", hour(52), day(100))], ("a", REQUESTS_DAY)),
    # ... and still beats 9.2 % of the hour (the same band: 5-10 %), because the day stops the user longer
    ([snap("a", hour(46), day(98))], ("a", REQUESTS_DAY)),
    # a clearly lower band wins whatever its reset: 4 % of the hour beats 10 % of the day
    ([snap("a", hour(20), day(100))], ("a", REQUESTS_HOUR)),
    # at 0, the window that resets latest (the day) is the one that stops the user
    ([snap("a", hour(0), day(0))], ("a", REQUESTS_DAY)),
    # a window at 0 beats any window with something left
    ([snap("a", hour(1), day(0))], ("a", REQUESTS_DAY)),
    # the per-minute window never headlines while it has requests left ...
    ([snap("rw", minute(1), day(180, 200))], ("rw", REQUESTS_DAY)),
    # ... but does when it is at 0 right now and nothing else is
    ([snap("rw", minute(0), day(180, 200))], ("rw", REQUESTS_MINUTE)),
    # ... or when it is the only meter there is
    ([snap("rw", minute(4))], ("rw", REQUESTS_MINUTE)),
    # a capped window beats uncapped money; a capped credit limit (no reset) is a window
    ([snap("or", balance(3.0), credits(9.0)), snap("b", hour(450))], ("b", REQUESTS_HOUR)),
    ([snap("or", balance(3.0), credits(2.0)), snap("b", hour(450))], ("or", CREDITS)),
    # uncapped money only when nothing is capped
    ([snap("rw", balance(4.2))], ("rw", BALANCE)),
    # an empty balance stops paid requests: it counts as a window at 0
    ([snap("rw", balance(0.0)), snap("b", hour(10))], ("rw", BALANCE)),
    # unknown numbers never headline
    ([snap("a", Meter(REQUESTS_HOUR, Unit.REQUESTS, limit=500)), snap("b", day(900))], ("b", REQUESTS_DAY)),
    ([snap("a", Meter(REQUESTS_HOUR, Unit.REQUESTS, used=120))], None),
    ([], None),
    # current numbers come before old ones (offline, a rejected key, cached)
    ([snap("a", hour(5), state=State.OFFLINE), snap("b", hour(300))], ("b", REQUESTS_HOUR)),
    ([snap("a", hour(5), state=State.AUTH_ERROR), snap("b", hour(300))], ("b", REQUESTS_HOUR)),
    ([snap("a", hour(5), stale=True), snap("b", hour(300))], ("b", REQUESTS_HOUR)),
    # ... but a 429 is an answer to a valid key: its numbers are current
    ([snap("a", hour(0), state=State.RATE_LIMITED), snap("b", hour(300))], ("a", REQUESTS_HOUR)),
    # all old: the old numbers are still better than nothing
    ([snap("a", hour(5), stale=True), snap("b", hour(300), stale=True)], ("a", REQUESTS_HOUR)),
    # a tie in everything: the accounts list's order
    ([snap("a", hour(100)), snap("b", hour(100))], ("a", REQUESTS_HOUR)),
])
def test_pick(snapshots, expected):
    assert key(pick_headline(snapshots)) == expected


def test_the_pin_wins_even_a_per_minute_window():
    snapshots = [snap("rw", minute(4), day(180, 200)), snap("b", hour(3))]
    chosen = pick_headline(snapshots, pinned="rw/requests_minute")
    assert (chosen.key, chosen.pinned) == (("rw", REQUESTS_MINUTE), True)
    # a pin that names nothing that exists is ignored
    assert key(pick_headline(snapshots, pinned="gone/requests_hour")) == ("b", REQUESTS_HOUR)
    assert key(pick_headline(snapshots, pinned="rw/requests_hour")) == ("b", REQUESTS_HOUR)


@pytest.mark.parametrize("pinned,parsed", [
    ("main/requests_hour", ("main", "requests_hour")),
    ("team/a/requests_hour", ("team/a", "requests_hour")),
    ("nothing", None), ("/requests_hour", None), ("main/", None), (None, None), ("", None),
])
def test_parse_pin(pinned, parsed):
    assert parse_pin(pinned) == parsed


# --------------------------------------------------------------------------- hysteresis
def test_the_badge_holds_its_meter_until_another_is_clearly_more_binding():
    policy = HeadlinePolicy()
    # a: 50 % of the hour, b: 55 % of the day -> a
    assert key(policy.choose([snap("a", hour(250)), snap("b", day(550))])) == ("a", REQUESTS_HOUR)
    # b falls to 45 %: more binding, but only by 5 points: the badge stays on a
    assert key(policy.choose([snap("a", hour(250)), snap("b", day(450))])) == ("a", REQUESTS_HOUR)
    # b at 41 %: still within the margin
    assert key(policy.choose([snap("a", hour(250)), snap("b", day(410))])) == ("a", REQUESTS_HOUR)
    # b at 40 %: 10 points less left: it takes the badge
    assert key(policy.choose([snap("a", hour(250)), snap("b", day(400))])) == ("b", REQUESTS_DAY)
    # a falls to 39 %: less left than b now, but not by 10 points: b stays
    assert key(policy.choose([snap("a", hour(195)), snap("b", day(400))])) == ("b", REQUESTS_DAY)
    # a at 30 %: clearly ahead
    assert key(policy.choose([snap("a", hour(150)), snap("b", day(400))])) == ("a", REQUESTS_HOUR)


def test_a_sequence_of_polls_that_would_flip_every_time_without_memory():
    """Two accounts near 25 % left, trading places on every poll: the stateless pick flips 9 times,
    the policy never."""
    polls = [[snap("a", hour(124 if i % 2 == 0 else 126)), snap("b", hour(126 if i % 2 == 0 else 124))]
             for i in range(10)]
    without_memory = [key(pick_headline(p))[0] for p in polls]
    policy = HeadlinePolicy()
    with_memory = [key(policy.choose(p))[0] for p in polls]
    assert without_memory == ["a", "b"] * 5
    assert with_memory == ["a"] * 10


def test_a_window_at_zero_takes_over_at_once_and_gives_the_badge_back_when_it_refills():
    policy = HeadlinePolicy()
    assert key(policy.choose([snap("rw", minute(3), day(150, 200)), snap("b", hour(300))])) == ("b", REQUESTS_HOUR)
    assert key(policy.choose([snap("rw", minute(0), day(150, 200)), snap("b", hour(300))])) == ("rw", REQUESTS_MINUTE)
    # the minute refilled: it is no longer a candidate; the most binding window takes over
    assert key(policy.choose([snap("rw", minute(5), day(150, 200)), snap("b", hour(300))])) == ("b", REQUESTS_HOUR)


def test_the_holder_losing_its_numbers_or_its_account_gives_the_badge_up():
    policy = HeadlinePolicy()
    assert key(policy.choose([snap("a", hour(100)), snap("b", hour(110))])) == ("a", REQUESTS_HOUR)
    # a's key is rejected: its numbers are old; b takes over although a had less left
    assert key(policy.choose([snap("a", hour(100), state=State.AUTH_ERROR), snap("b", hour(110))])) == (
        "b", REQUESTS_HOUR)
    # a is removed altogether
    assert key(policy.choose([snap("b", hour(110))])) == ("b", REQUESTS_HOUR)
    assert policy.choose([]) is None and policy.current is None


def test_a_pin_replaces_the_holder_and_unpinning_starts_from_the_pin():
    policy = HeadlinePolicy()
    snapshots = [snap("a", hour(100)), snap("b", hour(400))]
    assert key(policy.choose(snapshots)) == ("a", REQUESTS_HOUR)
    assert key(policy.choose(snapshots, pinned="b/requests_hour")) == ("b", REQUESTS_HOUR)
    # unpinned: a is clearly more binding (20 % vs 80 %), so it takes the badge back
    assert key(policy.choose(snapshots)) == ("a", REQUESTS_HOUR)


@pytest.mark.parametrize("meter,cue", [
    (minute(3), "m"), (hour(3), "h"), (day(3), "d"),
    (Meter(FREE_REQUESTS_DAY, Unit.REQUESTS, limit=50, remaining=3), "d"),
    (credits(3.0), ""), (balance(3.0), ""), (Meter("requests", Unit.REQUESTS, limit=50, remaining=3), ""),
])
def test_window_cue(meter, cue):
    assert window_cue(meter) == cue


def test_only_the_minute_window_refills_within_a_minute():
    assert refills_within_a_minute(minute(1))
    assert not any(refills_within_a_minute(m) for m in (hour(1), day(1), credits(1.0), balance(1.0)))
