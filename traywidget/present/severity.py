"""How bad is it: one ordered set of levels for every view (docs/json.md shows the table).

    severity_of(snapshot)          -> Severity   one account, as its state stands (after present.freshness.at)
    worst(snapshots)               -> Severity | None   a glance over accounts (None: no account)
    meter_severity(meter, thr)     -> Severity | None   one window (None: its amount is unknown)
    exit_code(severities)          -> int        what `status` returns for them

The badge's colour and corner mark, the per-account icons, the panel's dots,
the menu and tooltip, Waybar's `class`, `watch --format line`, the CLI's exit
code and the `severity` field of the JSON all ask here, so a 429 cannot be
red in one place and amber in another.

Each level's meaning (the order is the point: a higher level is worse):

    fine     requests go through; nothing to say beyond the numbers
    low      requests go through, but a window is running low
    failing  we cannot read the account now (offline, a server error); its
             numbers are old, requests may or may not go through
    refused  the provider refuses requests until a known moment: a window
             used up, a 429
    action   nothing changes until you act: no key, a rejected key, a payment,
             a firewall in front of the provider refusing this client

A new account state gets its level in STATE_SEVERITY (a test fails for a
state without one); a new level is a new member at the place its meaning
puts it, with its Waybar class (its value) and its row in docs/json.md.
Pure: no Qt, no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

from traywidget.model import EXIT_ACCOUNT_ERROR, EXIT_OK, Meter, Snapshot, State, Thresholds


class Severity(IntEnum):
    FINE = 0
    LOW = 1
    FAILING = 2
    REFUSED = 3
    ACTION = 4

    @property
    def word(self) -> str:
        """The stable English name: the JSON `severity` field and Waybar's `class`."""
        return self.name.lower()


STATE_SEVERITY: dict[State, Severity] = {
    State.OK: Severity.FINE,
    State.LOW: Severity.LOW,
    State.EXHAUSTED: Severity.REFUSED,
    State.RATE_LIMITED: Severity.REFUSED,
    State.OFFLINE: Severity.FAILING,
    State.ERROR: Severity.FAILING,
    State.AUTH_ERROR: Severity.ACTION,
    State.PAYMENT_REQUIRED: Severity.ACTION,
    State.NO_KEY: Severity.ACTION,
    # A firewall in front of the provider refuses this client: nothing changes until someone acts
    # (another User-Agent, the provider's support); the key is not blamed (the words say so).
    State.BLOCKED: Severity.ACTION,
}

# What `status` returns for an account at each level. A refusal (a used-up window, a 429) is an
# answer about the quota, which the command did report: 0, read `severity` or `state` to act on it.
# Failing (no answer) and action (the user must act) are 1: scripts hear about them.
EXIT_CODES: dict[Severity, int] = {
    Severity.FINE: EXIT_OK,
    Severity.LOW: EXIT_OK,
    Severity.FAILING: EXIT_ACCOUNT_ERROR,
    Severity.REFUSED: EXIT_OK,
    Severity.ACTION: EXIT_ACCOUNT_ERROR,
}


def severity_of(snapshot: Snapshot) -> Severity:
    """The account's level, from its state (age it first with present.freshness.at)."""
    return STATE_SEVERITY[snapshot.state]


def worst(snapshots: Iterable[Snapshot]) -> Severity | None:
    """The worst level among these accounts; None when there is none."""
    return max((severity_of(snapshot) for snapshot in snapshots), default=None)


def meter_severity(meter: Meter, thresholds: Thresholds = Thresholds()) -> Severity | None:
    """One window's level: refused at 0, low at or under the low threshold, else fine; None when unknown."""
    if meter.remaining is None:
        return None
    if meter.remaining <= 0:
        return Severity.REFUSED
    fraction = meter.fraction_left
    if fraction is not None and fraction <= thresholds.low:
        return Severity.LOW
    return Severity.FINE


def exit_code(severities: Iterable[Severity]) -> int:
    """The highest of EXIT_CODES for these levels (docs/json.md's table); 0 for none."""
    return max((EXIT_CODES[level] for level in severities), default=EXIT_OK)
