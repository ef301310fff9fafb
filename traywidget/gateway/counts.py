"""What the gateway itself counted since it started: answers by status code, streams killed.

Plain counters (no Prometheus here): the gateway records into them on every
exchange at no cost, and /metrics reads them only when it is turned on and
scraped (gateway/metrics.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping


class GatewayCounts:
    def __init__(self) -> None:
        # (account id, provider, HTTP status) -> answers the client got
        self.answers: Counter[tuple[str, str, int]] = Counter()
        # (account id, provider) -> streams stopped by Kill all streams
        self.killed: Counter[tuple[str, str]] = Counter()

    def answered(self, account_id: str, provider: str, status: int) -> None:
        self.answers[(account_id, provider, status)] += 1

    def stopped(self, stopped: Mapping[str, int], providers: Mapping[str, str]) -> None:
        for account_id, count in stopped.items():
            if count:
                self.killed[(account_id, providers.get(account_id, ""))] += count
