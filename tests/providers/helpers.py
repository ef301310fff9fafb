"""Shared builders for the provider tests (pure: no network)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from traywidget.model import HttpResult, Meter, Unit
from traywidget.providers.base import KeyHint, PollContext, RequestSpec

NOW = datetime(2025, 3, 5, 10, 30, 15, tzinfo=UTC)  # a Wednesday


def ctx(now: datetime = NOW, management: bool = False, hint: KeyHint | None = None) -> PollContext:
    return PollContext(now=now, has_management_key=management, key_hint=hint)


def result(status: int = 200, body: Any = b"", headers: dict[str, str] | None = None) -> HttpResult:
    if not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body).encode()
    return HttpResult(status=status, headers=headers or {}, body=bytes(body))


def spec(name: str, path: str = "x") -> RequestSpec:
    return RequestSpec(name, path)


def by_name(meters: tuple[Meter, ...]) -> dict[str, Meter]:
    return {m.name: m for m in meters}


def assert_sane_meter(meter: Meter) -> None:
    for value in (meter.used, meter.limit, meter.remaining):
        assert value is None or math.isfinite(value)
    if meter.unit is Unit.REQUESTS:
        for value in (meter.used, meter.limit):
            assert value is None or value >= 0
        assert meter.remaining is None or meter.remaining >= 0
        if meter.limit is not None and meter.remaining is not None:
            assert meter.remaining <= meter.limit
    else:
        if meter.limit is not None:
            assert meter.limit >= 0
            if meter.remaining is not None:
                assert 0 <= meter.remaining <= meter.limit
    if meter.resets_at is not None:
        assert meter.resets_at.tzinfo is not None
