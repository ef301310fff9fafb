"""The simulated world of any OpenAI-compatible API: keys whose limits show only in rate-limit headers
(requests and tokens per window).

A part of Simulator (world.py), which holds the lock and the state every part reads."""

from __future__ import annotations

import secrets
from datetime import timedelta

from traywidget.simulator.records import (
    OPENAI_COMPATIBLE,
    Denial,
    OpenAICompatibleKey,
    Window,
)
from traywidget.simulator.windows import (
    TokenBucket,
)
from traywidget.simulator.world_state import WorldState


class OpenAICompatibleWorld(WorldState):
    def add_openai_compatible_key(self, *, rpm: int = 60, tpm: int = 150_000, key: str | None = None,
                                  window_s: float = 60.0) -> str:
        """A key of an OpenAI-compatible provider with `rpm` requests and `tpm` tokens per
        `window_s` seconds (a minute; shorter for a test that crosses resets in real time).
        No usage endpoint: its limits show only in headers."""
        if not window_s > 0:
            raise ValueError("window_s must be a number of seconds > 0")
        with self._lock:
            key = self._register(key, OPENAI_COMPATIBLE, lambda: "sk-sim-" + secrets.token_hex(24))
            self._oa_keys[key] = OpenAICompatibleKey(key, rpm, tpm, TokenBucket(window_s), TokenBucket(window_s))
            return key

    def openai_windows(self, key: str) -> dict[str, Window]:
        """Requests and tokens windows of an openai-compatible key, for its
        rate-limit headers; reset_at is when the window is full again."""
        with self._lock:
            record, now = self._oa_keys[key], self.now()
            return {
                name: (limit, int(bucket.level(now, limit)), bucket.full_at(now, limit))
                for name, limit, bucket in (("requests", record.rpm, record.requests),
                                            ("tokens", record.tpm, record.tokens))
            }

    def _admit_openai(self, key: str, tokens: int) -> Denial | None:
        record, now = self._oa_keys[key], self.now()
        for kind, limit, bucket, amount in (("requests", record.rpm, record.requests, 1),
                                            ("tokens", record.tpm, record.tokens, tokens)):
            if bucket.level(now, limit) < amount:
                wait = bucket.seconds_until(now, limit, amount)
                reset = now + timedelta(seconds=min(wait, 86400.0))
                return Denial(kind, limit, int(bucket.level(now, limit)), reset, self.openai_windows(key))
        record.requests.take(now, record.rpm, 1)
        record.tokens.take(now, record.tpm, tokens)
        return None
