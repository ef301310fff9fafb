"""The one registry of open exchanges: what Kill all streams walks and the tray counts.

Owned by the Gateway. Every exchange is held from the moment it is accepted
until its handler ends (released in a `finally`), so the count shown is always
true. Stopping one cancels its handler's task: the handler closes the upstream
connection at once (that is what stops generation and billing) and ends the
client's side in a way the client understands.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable

log = logging.getLogger(__name__)

StreamCountSink = Callable[[str, int], None]

# Longest wait for stopped exchanges to finish ending their client side.
STOP_WAIT_S = 2.0


class HeldExchange:
    """One forwarded request, from acceptance until its handler ends."""

    __slots__ = ("account_id", "task", "stopped", "ended")

    def __init__(self, account_id: str, task: asyncio.Task) -> None:
        self.account_id = account_id
        self.task = task
        self.stopped = False
        self.ended = asyncio.Event()


class StreamRegistry:
    def __init__(self, on_count: StreamCountSink | None = None) -> None:
        self._held: set[HeldExchange] = set()
        self._counts: Counter[str] = Counter()
        self._on_count = on_count

    def hold(self, account_id: str) -> HeldExchange:
        """Register the running handler's exchange (call from the handler's own task)."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("hold() must be called from a task")
        held = HeldExchange(account_id, task)
        self._held.add(held)
        self._counts[account_id] += 1
        self._report(account_id)
        return held

    def release(self, held: HeldExchange) -> None:
        if held not in self._held:
            return
        self._held.discard(held)
        self._counts[held.account_id] -= 1
        if self._counts[held.account_id] <= 0:
            del self._counts[held.account_id]
        held.ended.set()
        self._report(held.account_id)

    def count(self, account_id: str) -> int:
        return self._counts.get(account_id, 0)

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def __len__(self) -> int:
        return len(self._held)

    async def stop_all(self, wait_s: float = STOP_WAIT_S, accounts: set[str] | None = None) -> dict[str, int]:
        """Stop every held exchange at once (of `accounts` only, when given); {account id: exchanges stopped}.

        Returns when all of them have ended (or after `wait_s`)."""
        victims = [held for held in self._held
                   if not held.stopped and (accounts is None or held.account_id in accounts)]
        stopped: Counter[str] = Counter()
        for held in victims:
            held.stopped = True
            held.task.cancel()
            stopped[held.account_id] += 1
        if victims:
            waits = [asyncio.ensure_future(held.ended.wait()) for held in victims]
            _, pending = await asyncio.wait(waits, timeout=wait_s)
            for waiter in pending:
                waiter.cancel()
            if pending:
                log.warning("%d stopped stream(s) did not end within %.0f s", len(pending), wait_s)
        return dict(stopped)

    def _report(self, account_id: str) -> None:
        if self._on_count is None:
            return
        try:
            self._on_count(account_id, self._counts.get(account_id, 0))
        except Exception:  # a failing view must not break the traffic
            log.exception("The stream count sink failed")
