"""Building meters from raw provider values, made consistent and never a made-up number."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from traywidget.model import Meter, Unit, clean_number, clean_signed_number
from traywidget.providers.decoding import bound_message


def request_meter(
    name: str,
    *,
    limit: Any,
    used: Any = None,
    remaining: Any = None,
    resets_at: datetime | None = None,
    zero_limit_means_uncapped: bool = True,
    estimated: bool = False,
    approximate_reset: bool = False,
) -> Meter:
    """A request-count meter from raw provider values, made consistent:

    - every value goes through clean_number (bad → None = unknown);
    - a limit of 0 means "no cap" (routing.run Lite's hour, Routeway's unset
      key limits) when `zero_limit_means_uncapped`;
    - without a cap, remaining is None (nothing to run out of);
    - a missing remaining is computed from limit − used when both are known;
    - remaining is clamped into [0, limit].
    """
    limit_n = clean_number(limit)
    used_n = clean_number(used)
    remaining_n = clean_number(remaining)
    if limit_n == 0 and zero_limit_means_uncapped:
        limit_n = None
    if limit_n is None:
        remaining_n = None
    else:
        if remaining_n is None and used_n is not None:
            remaining_n = max(0.0, limit_n - used_n)
        if remaining_n is not None:
            remaining_n = min(remaining_n, limit_n)
    return Meter(
        name=name,
        unit=Unit.REQUESTS,
        used=used_n,
        limit=limit_n,
        remaining=remaining_n,
        resets_at=resets_at,
        estimated=estimated,
        approximate_reset=approximate_reset,
    )


def usd(value: Any) -> float | None:
    """A USD amount that may be negative (a balance below zero)."""
    return clean_signed_number(value)


def plan_text(value: Any, limit: int = 60) -> str | None:
    return bound_message(value, limit)
