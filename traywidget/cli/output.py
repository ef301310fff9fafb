"""How the command line prints: tables, the status table and watch's lines."""

from __future__ import annotations

from datetime import datetime
from typing import TextIO

from traywidget.core.formatting import format_amount, time_until_reset
from traywidget.i18n import trn
from traywidget.model import Snapshot, Unit, utcnow


def clock(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "-"


def print_status(snapshots: list[Snapshot], out: TextIO) -> None:
    rows = [("ACCOUNT", "PROVIDER", "STATE", "PLAN", "METER", "LEFT", "LIMIT", "RESETS IN")]
    messages = []
    for snap in snapshots:
        head = [snap.account_id, snap.provider, snap.state.value, snap.plan or "-"]
        if not snap.meters:
            rows.append((*head, "-", "-", "-", "-"))
        for i, m in enumerate(snap.meters):
            uncapped = m.limit is None
            left = "-" if uncapped and m.remaining is None else format_amount(m.remaining, m.unit)
            # A money balance has no limit to speak of; a request window without one has "no cap".
            limit = ("-" if m.unit is Unit.USD else "no cap") if uncapped else format_amount(m.limit, m.unit)
            if m.estimated:
                limit = "≈" + limit
            rows.append((*(head if i == 0 else ("", "", "", "")), m.name, left, limit, time_until_reset(m.resets_at, utcnow(), m.approximate_reset) or "-"))
        if snap.error:
            messages.append(f"{snap.account_id}: {snap.error.message}")
        messages.extend(f"{snap.account_id}: {note}" for note in snap.notes)
        if snap.streams:
            running = trn("{n} stream running through the gateway", "{n} streams running through the gateway",
                          snap.streams).format(n=snap.streams)
            messages.append(f"{snap.account_id}: {running}")
    print_table(rows, out)
    for line in messages:
        print(line, file=out)


def print_table(rows: list[tuple], out: TextIO) -> None:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip(), file=out)


def watch_line(snap: Snapshot) -> str:
    parts = [clock(snap.fetched_at), snap.account_id, snap.state.value]
    parts += [f"{m.name}={format_amount(m.remaining, m.unit)}/{format_amount(m.limit, m.unit)}" for m in snap.meters]
    if snap.streams is not None:  # a gateway runs: a change in open streams is a change worth a line
        parts.append(f"streams={snap.streams}")
    if snap.error:
        parts.append(f'"{snap.error.message}"')
    return " ".join(parts)
