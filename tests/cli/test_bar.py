"""`watch --format waybar|line`: the badge's meter, trouble anywhere, Waybar's JSON shape and
Pango escaping, and a new line only on a change."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from traywidget.cli import bar
from traywidget.cli.polling import EngineInputs, watch_printer
from traywidget.model import Account, ErrorInfo, Meter, Snapshot, State, Unit
from traywidget.present.headline import pick_headline
from traywidget.present.text import tooltip_text
from traywidget.store.secrets import MemorySecretStore

NOW = datetime(2026, 3, 5, 10, 37, 12, tzinfo=UTC)


pytestmark = pytest.mark.usefixtures("utc_local_time")


def routing(label="Main", state=State.OK, hour=(380, 500), day=(1400, 1500), account_id="main", **changes):
    meters = (
        Meter("requests_hour", Unit.REQUESTS, remaining=hour[0], limit=hour[1], resets_at=NOW + timedelta(minutes=23)),
        Meter("requests_day", Unit.REQUESTS, remaining=day[0], limit=day[1],
              resets_at=datetime(2026, 3, 6, tzinfo=UTC)),
    )
    return Snapshot(account_id, "routing.run", label, state, plan="Premium", meters=meters, **changes)


def broken(label="Work"):
    return Snapshot("work", "openrouter", label, State.AUTH_ERROR, error=ErrorInfo("Invalid API key", 401))


def test_waybar_line_is_the_badge_meter_with_the_trays_tooltip():
    snapshots = [routing(), broken()]
    headline = pick_headline(snapshots)
    line = bar.waybar_line(snapshots, headline, NOW)
    assert "\n" not in line
    assert json.loads(line) == {
        "text": "380/h !",
        "class": "action",
        "percentage": 76,
        "tooltip": tooltip_text(snapshots, headline, NOW),
    }
    assert json.loads(line)["tooltip"] == (
        "Badge: Main (routing.run) — 380 requests left this hour, resets 11:00 · OK\n"
        "Work (OpenRouter): not fetched yet · Key rejected: Invalid API key")


def test_waybar_text_and_tooltip_are_escaped_for_pango():
    snapshots = [routing(label="R&D <team>")]
    data = json.loads(bar.waybar_line(snapshots, pick_headline(snapshots), NOW))
    assert data["tooltip"].startswith("Badge: R&amp;D &lt;team&gt; (routing.run) — 380 requests left")
    assert data["text"] == "380/h"


def test_percentage_rounds_down_and_is_left_out_when_unknown():
    assert Meter("requests_day", Unit.REQUESTS, remaining=998, limit=1000).percent_left == 99
    assert Meter("requests_day", Unit.REQUESTS, remaining=1000, limit=1000).percent_left == 100
    assert Meter("requests_day", Unit.REQUESTS, remaining=29, limit=100).percent_left == 29  # not 28.999…
    assert Meter("balance", Unit.USD, remaining=4.2).percent_left is None
    only_balance = [Snapshot("rw", "routeway", "Rw", State.OK, meters=(Meter("balance", Unit.USD, remaining=4.2),))]
    data = json.loads(bar.waybar_line(only_balance, pick_headline(only_balance), NOW))
    assert (data["text"], data["class"], "percentage" in data) == ("$4.2", "fine", False)
    assert json.loads(bar.waybar_line([], None, NOW)) == {
        "text": "–", "class": "unknown", "tooltip": "Traywidget: no accounts yet. Right-click the icon to add one."}


@pytest.mark.parametrize(("states", "expected"), [
    ([], "unknown"),
    ([State.OK], "fine"),
    ([State.OK, State.LOW], "low"),
    ([State.OFFLINE], "failing"),
    ([State.ERROR, State.OK], "failing"),
    ([State.OK, State.RATE_LIMITED], "refused"),
    ([State.OK, State.EXHAUSTED], "refused"),
    ([State.OFFLINE, State.EXHAUSTED], "refused"),
    ([State.LOW, State.NO_KEY], "action"),
    ([State.PAYMENT_REQUIRED], "action"),
    ([State.RATE_LIMITED, State.AUTH_ERROR], "action"),
])
def test_bar_class_is_the_worst_account(states, expected):
    snapshots = [Snapshot(f"a{i}", "routing.run", f"A{i}", state) for i, state in enumerate(states)]
    assert bar.bar_class(snapshots) == expected


def test_plain_line_names_the_headline_and_every_troubled_account():
    assert bar.plain_line([routing()], pick_headline([routing()])) == "Main: 380 requests left this hour"
    limited = routing(label="Spare", account_id="spare", state=State.RATE_LIMITED, hour=(0, 500))
    snapshots = [routing(), broken(), limited]
    assert bar.plain_line(snapshots, pick_headline(snapshots)) == (
        "Spare: 0 requests left this hour · Work: Key rejected: Invalid API key · Spare: Rate limited (429)")
    assert bar.plain_line([], None) == "no usage figures yet"


def inputs(*ids: str, pinned: str | None = None) -> EngineInputs:
    accounts = [Account(i, "routing.run", i.title(), "https://api.routing.run/v1") for i in ids]
    return EngineInputs(accounts, MemorySecretStore(), settings=None, pinned_meter=pinned)


def test_the_glance_holds_its_meter_like_the_badge():
    """The badge's hysteresis: a meter only a little more binding does not take the bar over."""
    printer = watch_printer("line", inputs("main"))
    assert printer({"main": routing()}, routing()) == "Main: 380 requests left this hour"  # 76 % vs 93 %
    closer = routing(day=(1080, 1500))  # 72 %: less left than the hour's 76 %, but not clearly
    assert pick_headline([closer]).meter.name == "requests_day"
    assert printer({"main": closer}, closer) is None  # still the hour: nothing changed on the bar
    clearly = routing(day=(900, 1500))  # 60 %
    assert printer({"main": clearly}, clearly) == "Main: 900 requests left today"


def test_a_pinned_meter_is_the_headline():
    printer = watch_printer("line", inputs("main", pinned="main/requests_day"))
    assert printer({"main": routing()}, routing()) == "Main: 1,400 requests left today"


@pytest.mark.parametrize("fmt", ["waybar", "line"])
def test_the_glance_waits_for_every_account_then_prints_only_changes(fmt):
    printer = watch_printer(fmt, inputs("main", "work"))
    latest: dict[str, Snapshot] = {}

    def arrive(snap):
        latest[snap.account_id] = snap
        return printer(latest, snap)

    assert arrive(routing()) is None  # "work" has not answered yet: no half glance
    first = arrive(broken())
    assert first is not None and "Work" in first and "Main" in first
    assert printer(latest, None) is None  # the first-glance deadline after it: nothing new
    assert arrive(routing()) is None  # the same figures again: nothing to print
    assert arrive(routing(fetched_at=NOW + timedelta(minutes=1))) is None  # only the fetch time moved
    second = arrive(routing(hour=(379, 500)))
    assert second is not None and second != first


@pytest.mark.parametrize("fmt", ["waybar", "line"])
def test_an_account_that_never_answers_does_not_hold_the_glance_back(fmt):
    printer = watch_printer(fmt, inputs("main", "hangs"))
    assert printer({}, None) is None  # the deadline with nothing at all: nothing to show
    latest = {"main": routing()}
    assert printer(latest, latest["main"]) is None
    shown = printer(latest, None)  # FIRST_GLANCE_WAIT_S passed
    assert shown is not None and "Main" in shown
    assert printer(latest, latest["main"]) is None  # and from then on, only changes


def test_text_and_json_print_one_line_per_account_change():
    printer = watch_printer("json", inputs("main", "work"))
    first = printer({}, routing())
    assert json.loads(first)["id"] == "main"
    assert printer({}, routing(fetched_at=NOW)) is None
    assert printer({}, None) is None
    assert json.loads(printer({}, broken()))["state"] == "auth_error"
    assert printer({}, routing(hour=(379, 500))) is not None
    text = watch_printer("text", inputs("main"))
    before = datetime.now(UTC).replace(microsecond=0)
    line = text({}, routing(fetched_at=NOW))
    after = datetime.now(UTC)
    clock, rest = line.split(" ", 1)
    # the time of the change (here: now), not of the fetch: a line a window's reset printed says when
    printed = datetime.combine(before.date(), datetime.strptime(clock, "%H:%M:%S").time(), UTC)
    assert before <= printed <= after and rest == "Main — 380 requests left this hour · OK"
    assert text({}, routing(fetched_at=NOW + timedelta(minutes=1))) is None
