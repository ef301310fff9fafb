"""What every part of the simulated world reads: the lock, the clock and the keys of each provider.

Simulator (world.py) sets these up; each provider's part (world_routing.py, world_openrouter.py,
world_routeway.py, world_openai.py) is a mix-in that reads and changes them under the lock.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import datetime

from traywidget.simulator.records import (
    OpenAICompatibleKey,
    OpenRouterKey,
    RoutewayAccount,
    RoutewayKey,
    RoutingUser,
    StreamHandle,
)
from traywidget.simulator.windows import Clock, RollingCounter


class WorldState:
    clock: Clock
    _lock: threading.RLock
    _ids: itertools.count[int]
    _provider_of: dict[str, str]
    _routing_keys: dict[str, RoutingUser]
    _or_keys: dict[str, OpenRouterKey]
    _rw_keys: dict[str, RoutewayKey]
    _rw_mgmt: dict[str, RoutewayAccount]
    _rw_mgmt_windows: dict[tuple[str, str], RollingCounter]
    _oa_keys: dict[str, OpenAICompatibleKey]
    _streams: dict[int, StreamHandle]

    def now(self) -> datetime:
        return self.clock()

    def _active_streams(self, owner: str) -> int:
        return sum(1 for h in self._streams.values() if h.owner == owner)

    def _register(self, key: str | None, provider: str, make: Callable[[], str]) -> str:
        key = key or make()
        if key in self._provider_of:
            raise ValueError("key already exists")
        self._provider_of[key] = provider
        return key
