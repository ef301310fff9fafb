"""The JSON a hook receives for one alert: the documented event shape (docs/metrics-and-hooks.md).

    {"event": "threshold", "account": "team", "provider": "openrouter", "window": "requests_day",
     "remaining": 40, "limit": 200, "resets_at": "2026-12-08T00:00:00Z", "severity": "low",
     "message": "Team: 40 requests left today. 40 of 200 left (20 %). Resets 01:00.", "at": "..."}

`event` is the alert's kind (present/alerts.py: threshold, exhausted, rate_limited, restored,
auth_error, payment_required, kill_result, pace, ...), a stable string. Built only from the
snapshot's public figures and the alert's words: never a key or a token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from traywidget.model import Snapshot, iso
from traywidget.present.alerts import Alert
from traywidget.present.severity import Severity, severity_of

SAMPLE_EVENT = "test"


def hook_event(alert: Alert, snapshot: Snapshot | None, now: datetime) -> dict[str, Any]:
    """The event for `alert` about the account in `snapshot` (None for an alert about no account)."""
    meter = snapshot.meter(alert.meter) if snapshot is not None and alert.meter else None
    figures = meter.to_json() if meter is not None else {}
    return {
        "event": alert.kind,
        "account": alert.account_id or None,
        "provider": snapshot.provider if snapshot is not None else None,
        "window": alert.meter,
        "remaining": figures.get("remaining"),
        "limit": figures.get("limit"),
        "resets_at": figures.get("resets_at"),
        # The account's one severity (present/severity.py), as status --json and Waybar say it; null for an
        # alert about no one account (Kill all streams).
        "severity": severity_of(snapshot).word if snapshot is not None else None,
        "message": f"{alert.title}. {alert.body}".strip() if alert.body else alert.title,
        "at": iso(now),
    }


def sample_event(now: datetime) -> dict[str, Any]:
    """What `traywidget hooks test` sends: the shape of a real event, marked as a test."""
    return {
        "event": SAMPLE_EVENT, "account": "example", "provider": "openrouter", "window": "requests_day",
        "remaining": 40, "limit": 200, "resets_at": None, "severity": Severity.LOW.word,
        "message": "traywidget: a test event (traywidget hooks test).", "at": iso(now),
    }
