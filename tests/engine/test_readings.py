"""Merging polled and traffic meters without double counting, and the quota state, with exact values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from traywidget.engine.readings import merge_poll, merge_traffic
from traywidget.model import Meter, Source, State, Thresholds, Unit
from traywidget.present.freshness import quota_state

T0 = datetime(2026, 11, 22, 10, 20, 0, tzinfo=UTC)
HOUR_RESET = datetime(2026, 11, 22, 11, 0, 0, tzinfo=UTC)


def polled(name: str, remaining: float, limit: float = 500, resets_at=HOUR_RESET, seen_at=None) -> Meter:
    return Meter(name, Unit.REQUESTS, used=limit - remaining, limit=limit, remaining=remaining, resets_at=resets_at,
                 seen_at=seen_at)


def traffic(name: str, remaining: float, limit: float = 500, seen_at=T0, resets_at=HOUR_RESET) -> Meter:
    return Meter(name, Unit.REQUESTS, used=limit - remaining, limit=limit, remaining=remaining,
                 resets_at=resets_at, source=Source.TRAFFIC, seen_at=seen_at)


def test_a_newer_traffic_reading_replaces_the_polled_meter_of_that_name_only():
    before = (polled("requests_hour", 420), polled("requests_day", 1380, limit=1500))
    after = merge_traffic(before, [traffic("requests_hour", 300, seen_at=T0 + timedelta(seconds=30))],
                          polled_at=T0)
    assert after == (traffic("requests_hour", 300, seen_at=T0 + timedelta(seconds=30)),
                     polled("requests_day", 1380, limit=1500))


def test_an_older_traffic_reading_loses_to_a_newer_poll():
    before = (polled("requests_hour", 420),)
    late = traffic("requests_hour", 300, seen_at=T0 - timedelta(seconds=5))
    assert merge_traffic(before, [late], polled_at=T0) == before


def test_traffic_meters_of_new_names_are_added_and_out_of_order_ones_do_not_win():
    first = merge_traffic((), [traffic("requests", 40, limit=60, seen_at=T0 + timedelta(seconds=2))], polled_at=None)
    second = merge_traffic(first, [traffic("requests", 55, limit=60, seen_at=T0 + timedelta(seconds=1)),
                                   traffic("tokens", 9000, limit=10000, seen_at=T0 + timedelta(seconds=1))],
                           polled_at=None)
    assert second == (traffic("requests", 40, limit=60, seen_at=T0 + timedelta(seconds=2)),
                      traffic("tokens", 9000, limit=10000, seen_at=T0 + timedelta(seconds=1)))


def test_a_meter_of_a_never_polled_account_gives_way_to_traffic():
    cached = (polled("requests_hour", 420),)  # from the cache: no poll time known
    assert merge_traffic(cached, [traffic("requests_hour", 10)], polled_at=None) == (traffic("requests_hour", 10),)


def test_a_full_poll_drops_polled_meters_it_no_longer_reports_but_keeps_traffic_meters():
    before = (polled("requests_hour", 420), polled("balance", 5), traffic("tokens", 900, limit=1000))
    after = merge_poll(before, [polled("requests_hour", 400)], full=True, started_at=T0 + timedelta(seconds=60))
    assert after == (polled("requests_hour", 400, seen_at=T0 + timedelta(seconds=60)),
                     traffic("tokens", 900, limit=1000))


def test_a_fast_poll_refreshes_its_meters_in_place_and_keeps_the_rest():
    before = (polled("requests_minute", 97, limit=100), polled("requests_hour", 420),
              polled("requests_day", 1380, limit=1500))
    after = merge_poll(before, [polled("requests_hour", 400)], full=False, started_at=T0)
    assert after == (polled("requests_minute", 97, limit=100), polled("requests_hour", 400, seen_at=T0),
                     polled("requests_day", 1380, limit=1500))


def test_a_poll_replaces_older_traffic_of_the_same_name_but_not_traffic_seen_while_it_ran():
    old = traffic("requests_minute", 1, limit=5, seen_at=T0)
    during = traffic("requests_day", 150, limit=200, seen_at=T0 + timedelta(seconds=11))
    before = (old, during)
    started = T0 + timedelta(seconds=10)
    after = merge_poll(before, [polled("requests_minute", 4, limit=5), polled("requests_day", 160, limit=200)],
                       full=True, started_at=started)
    assert after == (polled("requests_minute", 4, limit=5, seen_at=started), during)


def test_quota_state_from_every_current_meter():
    thresholds = Thresholds((0.20, 0.05))
    assert quota_state([polled("requests_hour", 420)], thresholds, T0) is State.OK
    assert quota_state([polled("requests_hour", 100)], thresholds, T0) is State.LOW
    assert quota_state([polled("requests_hour", 420), traffic("tokens", 0, limit=1000)], thresholds, T0) \
        is State.EXHAUSTED
    assert quota_state([], thresholds, T0) is State.OK


def test_a_window_that_has_reset_since_it_was_read_says_nothing_now():
    spent = traffic("requests_minute", 0, limit=20, resets_at=T0 + timedelta(seconds=30))
    assert quota_state([spent], Thresholds(), T0) is State.EXHAUSTED
    assert quota_state([spent], Thresholds(), T0 + timedelta(seconds=30)) is State.OK


def test_an_estimated_cap_with_unknown_remaining_and_a_spent_balance():
    estimate = Meter("free_requests_day", Unit.REQUESTS, limit=50, estimated=True)
    assert quota_state([estimate], Thresholds(), T0) is State.OK
    broke = Meter("balance", Unit.USD, remaining=-0.5)
    assert quota_state([broke], Thresholds(), T0) is State.EXHAUSTED


def test_a_polled_meter_says_when_the_poll_asked_unless_it_says_so_itself():
    own = polled("requests_day", 10, seen_at=T0 - timedelta(seconds=3))
    after = merge_poll((), [polled("requests_hour", 400), own], full=True, started_at=T0)
    assert [m.seen_at for m in after] == [T0, T0 - timedelta(seconds=3)]


def test_any_amount_at_zero_is_exhausted_never_ok():
    uncapped = Meter("requests", Unit.REQUESTS, remaining=0)
    assert quota_state([uncapped], Thresholds(), T0) is State.EXHAUSTED
