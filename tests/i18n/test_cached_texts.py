"""What traywidget itself says about an account (notes, a plan, an error message) is said in the user's
language from the first moment, when the snapshots come from the cache, too — and stays English in JSON."""

from __future__ import annotations

import json

from tests.i18n.test_untranslated import (
    engine_snapshot_without_key,
    openrouter_snapshot,
)
from traywidget.i18n import tr, use_language
from traywidget.i18n.numbers import NBSP
from traywidget.i18n.phrases import Money, Phrase, from_data, to_data
from traywidget.store.cache import SnapshotCache


def test_cached_phrases_are_said_in_the_language_spoken(tmp_path):
    snapshots = [openrouter_snapshot(), engine_snapshot_without_key()]
    SnapshotCache(tmp_path).save(snapshots)
    stored = json.loads((tmp_path / "snapshots.json").read_text())["accounts"]
    assert stored[0]["notes"] == [str(note) for note in snapshots[0].notes]  # English, as the status JSON
    assert stored[0]["plan"] == "Paid · my laptop"
    work, nokey = SnapshotCache(tmp_path).load()
    assert (work.stale, work.notes, work.plan) == (True, snapshots[0].notes, snapshots[0].plan)
    use_language("de")
    assert [tr(note) for note in work.notes] == [
        "Anfragen an Gratismodelle: OpenRouter hat keinen Verbrauch gemeldet; 1000/Tag ist das dokumentierte Limit "
        "(50, bis 10 Credits gekauft sind, dann 1000), also eine Schätzung.",
        "Ausgegeben: heute 0,12\u00a0$ · diese Woche 1,20\u00a0$ · diesen Monat 3,40\u00a0$",
        "Dieser Schlüssel läuft am 2025-06-03 12:00 UTC ab."]
    assert tr(work.plan) == "Bezahlt · my laptop"
    assert tr(nokey.error.message) == ("Für Nokey ist kein API-Schlüssel gespeichert. Legen Sie einen in den "
                                       "Einstellungen fest oder mit `traywidget keys set nokey`.")


def test_a_kept_text_that_no_longer_matches_is_shown_as_it_was_stored(tmp_path):
    SnapshotCache(tmp_path).save([engine_snapshot_without_key()])
    path = tmp_path / "snapshots.json"
    data = json.loads(path.read_text())
    data["accounts"][0]["error"]["message"] = "Edited by hand"
    path.write_text(json.dumps(data))
    [snapshot] = SnapshotCache(tmp_path).load()
    use_language("de")
    assert tr(snapshot.error.message) == "Edited by hand"


def test_kept_texts_survive_any_content():
    phrase = Phrase("Spent {amounts}", amounts=Money(3.4))
    assert from_data(to_data(phrase), str(phrase)) == phrase
    use_language("es")
    assert tr(from_data(to_data(phrase), str(phrase))) == f"Gastado: 3,40{NBSP}US$"
    for junk in (None, 3, [], {"phrase": "{a}", "params": {}}, {"phrase": "{a}", "params": {"a": [1]}},
                 {"phrase": "x", "params": {"b": {"money": "1", "decimals": 2}}}, {"money": 1e400, "decimals": 2},
                 {"listing": [1, 2], "separator": "·"}, {"phrase": "{0}", "params": {"x": 1}}):
        assert from_data(junk, "as stored") == "as stored"
