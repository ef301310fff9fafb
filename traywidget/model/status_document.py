"""The document `traywidget status --json` prints, built in one place.

Everything that reports the accounts to a program reads this one document: the
CLI prints it, the gateway's /metrics turns it into Prometheus families
(gateway/metrics.py), so the two cannot disagree. A field added to the status
JSON is added here (or in Snapshot.to_json) and reaches both.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from traywidget.model.snapshot import Snapshot


def status_document(snapshots: Iterable[Snapshot]) -> dict[str, Any]:
    """{"accounts": [each snapshot's status JSON, in the order given]}."""
    return {"accounts": [snapshot.to_json() for snapshot in snapshots]}
