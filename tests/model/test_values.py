"""Meter and Snapshot: the helpers every view uses, and the status-JSON shape they round-trip through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from traywidget.model import (
    REQUESTS_DAY,
    REQUESTS_HOUR,
    ErrorInfo,
    KillResult,
    Meter,
    Snapshot,
    Source,
    State,
    Unit,
    clean_number,
    clean_signed_number,
    iso,
    parse_iso,
    round_down,
)

RESET = datetime(2026, 11, 22, 11, 0, tzinfo=UTC)
FETCHED = datetime(2026, 11, 22, 10, 37, 12, 345678, tzinfo=UTC)


def hour(remaining: float | None = 420, limit: float | None = 500, used: float | None = 80) -> Meter:
    return Meter(REQUESTS_HOUR, Unit.REQUESTS, used=used, limit=limit, remaining=remaining, resets_at=RESET)


# ------------------------------------------------------------------ Meter


@pytest.mark.parametrize(("remaining", "limit", "fraction"), [
    (420, 500, 0.84),
    (0, 500, 0.0),
    (500, 500, 1.0),
    (None, 500, None),  # unknown stays unknown
    (420, None, None),  # no cap: no fraction
    (420, 0, None),  # a zero cap is no cap
])
def test_fraction_left(remaining: float | None, limit: float | None, fraction: float | None) -> None:
    assert hour(remaining=remaining, limit=limit).fraction_left == fraction


def test_capped() -> None:
    assert hour(limit=500).capped is True
    assert hour(limit=None).capped is False
    assert hour(limit=0).capped is False


@pytest.mark.parametrize(("remaining", "limit", "percent"), [
    (998, 1000, 99), (1000, 1000, 100), (29, 100, 29), (0, 500, 0), (1, 3, 33), (None, 500, None), (5, None, None),
])
def test_percent_left_is_whole_and_rounded_down(remaining, limit, percent) -> None:
    # 29 of 100 is 29 although 0.29 * 100 is 28.999999999999996 in floating point
    assert hour(remaining=remaining, limit=limit).percent_left == percent


@pytest.mark.parametrize(("value", "digits", "down"), [(28.999999999999996, 0, 29.0), (4.29, 1, 4.2), (0.07, 2, 0.07),
                                                       (1999.99, 0, 1999.0), (0.0, 1, 0.0)])
def test_round_down_never_loses_a_unit_to_float_error(value, digits, down) -> None:
    assert round_down(value, digits) == down


def test_meter_json_is_the_documented_shape() -> None:
    assert hour().to_json() == {"name": "requests_hour", "unit": "requests", "used": 80, "limit": 500,
                                "remaining": 420, "resets_at": "2026-11-22T11:00:00Z", "source": "poll",
                                "seen_at": None, "freshness": "current"}
    money = Meter("balance", Unit.USD, remaining=4.2000001, limit=None)
    assert money.to_json()["remaining"] == 4.2
    assert hour().to_json(markers=True)["estimated"] is False


def test_meter_json_round_trips_and_refuses_impossible_numbers() -> None:
    traffic = Meter(REQUESTS_HOUR, Unit.REQUESTS, limit=500, remaining=12, source=Source.TRAFFIC, seen_at=FETCHED,
                    estimated=True)
    assert Meter.from_json(traffic.to_json(markers=True)) == traffic
    assert Meter.from_json({**hour().to_json(), "remaining": 501}).remaining is None  # more left than the cap
    assert Meter.from_json({**hour().to_json(), "remaining": -1}).remaining is None
    assert Meter.from_json({**hour().to_json(), "source": "gossip"}).source is Source.POLL
    debt = Meter.from_json({"name": "balance", "unit": "usd", "remaining": -3.5})
    assert debt.remaining == -3.5  # money can be below zero


# ------------------------------------------------------------------ Snapshot


def snapshot(**changes) -> Snapshot:
    base = Snapshot("main", "routing.run", "Main", State.OK, plan="Premium", meters=(hour(),), fetched_at=FETCHED)
    return base.with_changes(**changes)


def test_meter_lookup() -> None:
    assert snapshot().meter(REQUESTS_HOUR) == hour()
    assert snapshot().meter(REQUESTS_DAY) is None


def test_with_changes_makes_a_new_snapshot() -> None:
    before = snapshot()
    after = before.with_changes(state=State.LOW, streams=2)
    assert (before.state, before.streams) == (State.OK, None)
    assert (after.state, after.streams, after.meters) == (State.LOW, 2, before.meters)


def test_content_key_ignores_the_fetch_time_but_nothing_that_is_shown() -> None:
    same = snapshot().content_key()
    assert snapshot(fetched_at=FETCHED + timedelta(minutes=1), stale=True).content_key() == same
    assert snapshot(meters=(hour(remaining=419),)).content_key() != same
    assert snapshot(state=State.LOW).content_key() != same
    assert snapshot(plan="Lite").content_key() != same
    assert snapshot(streams=1).content_key() != same
    assert snapshot(error=ErrorInfo("Server error", http_status=500)).content_key() != same


def test_snapshot_json_is_the_documented_shape_and_round_trips() -> None:
    snap = snapshot(error=ErrorInfo("Hourly request limit exceeded", 429, "RATE_LIMITED", 30.0004, "hourly"),
                    state=State.RATE_LIMITED, notes=("a note",), streams=3)
    data = snap.to_json()
    assert data == {
        "id": "main", "provider": "routing.run", "label": "Main", "state": "rate_limited", "plan": "Premium",
        "meters": [hour().to_json()],
        "error": {"http_status": 429, "code": "RATE_LIMITED", "message": "Hourly request limit exceeded",
                  "retry_after_s": 30.0, "limit_kind": "hourly"},
        "fetched_at": "2026-11-22T10:37:12.345678Z", "notes": ["a note"], "stale": False, "streams": 3,
        "held_until": None, "held_by": None, "gateway_usage": None,
    }
    again = Snapshot.from_json(data)
    assert again.with_changes(error=snap.error) == snap
    assert again.error == ErrorInfo("Hourly request limit exceeded", 429, "RATE_LIMITED", 30.0, "hourly")


@pytest.mark.parametrize("streams", [-1, 1.5, "2", True])
def test_a_snapshot_with_a_nonsense_stream_count_reads_as_no_gateway(streams) -> None:
    assert Snapshot.from_json({**snapshot().to_json(), "streams": streams}).streams is None


def test_kill_result_json() -> None:
    assert KillResult("main", True, 2).to_json() == {"id": "main", "supported": True, "killed_streams": 2,
                                                     "error": None}


# ------------------------------------------------------------------ scalars


@pytest.mark.parametrize(("value", "clean"), [
    (3, 3.0), (0, 0.0), (2.5, 2.5), (-1, None), (float("nan"), None), (float("inf"), None), (1e16, None),
    ("3", None), (True, None), (None, None),
])
def test_clean_number(value, clean) -> None:
    assert clean_number(value) == clean


def test_clean_signed_number_keeps_negatives_only() -> None:
    assert clean_signed_number(-3.5) == -3.5
    assert clean_signed_number(float("nan")) is None
    assert clean_signed_number(-1e16) is None


def test_iso_times_are_utc_with_z() -> None:
    plus_one = FETCHED.astimezone(timezone(timedelta(hours=1)))
    assert iso(plus_one) == "2026-11-22T10:37:12.345678Z"
    assert iso(None) is None
    assert parse_iso("2026-11-22T11:00:00Z") == RESET
    assert parse_iso("2026-11-22T11:00:00") == RESET  # no zone: UTC
    assert parse_iso("yesterday") is None
    assert parse_iso(17) is None
