"""The document `traywidget status --json` prints, built in one place (docs/json.md).

Everything that reports the accounts to a program reads it: `status --json`, each
line of `watch --json` and of `gateway --json` (one account), and the gateway's
/metrics, which turns it into Prometheus families (gateway/metrics.py) — so none of
them can disagree. A field added to the status JSON is added here (or in
Snapshot.to_json) and reaches all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from traywidget.model import Rails, Snapshot
from traywidget.present.severity import severity_of


def account_document(snapshot: Snapshot, rails: Rails | None = None) -> dict[str, Any]:
    """One account: the snapshot's own JSON and its severity (and its guard rails, where given:
    `status --json` says them, from the config)."""
    document = {**snapshot.to_json(), "severity": severity_of(snapshot).word}
    if rails is not None:
        document["rails"] = rails.to_json()
    return document


def status_document(snapshots: Iterable[Snapshot], rails: Mapping[str, Rails] | None = None) -> dict[str, Any]:
    """{"accounts": [each account's document, in the order given]}; `rails`: the accounts' guard rails."""
    return {"accounts": [account_document(snapshot, None if rails is None else rails.get(snapshot.account_id, Rails()))
                         for snapshot in snapshots]}
