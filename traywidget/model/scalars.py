"""Clean scalars at the edge of the model: finite numbers, UTC times, ISO 8601.

Providers (and faults) send strings, NaN, negative and absurd values; the
badge must never show those as a count, so every number crossing into the
model goes through `clean_number` first.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

# 0.29 * 100 is 28.999999999999996 in binary floating point: rounding a figure down must not take
# a whole unit off what is left because of that.
_FLOAT_SLACK = 1e-9


def round_down(value: float, digits: int = 0) -> float:
    """`value` rounded down to `digits` decimals: what the user is told is never more than is left."""
    scale = 10**digits
    return math.floor(value * scale + _FLOAT_SLACK) / scale


def utcnow() -> datetime:
    return datetime.now(UTC)


def clean_number(value: Any) -> float | None:
    """A finite, non-negative number or None.

    Providers (and faults) send strings, NaN, negative and absurd values; the
    badge must never show those as a count, so anything that is not a plain
    finite number >= 0 becomes "unknown".
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    if not math.isfinite(number) or number < 0 or number > 1e15:
        return None
    return number


def clean_signed_number(value: Any) -> float | None:
    """Like clean_number but keeps negatives (a USD balance can be below zero)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    if not math.isfinite(number) or abs(number) > 1e15:
        return None
    return number


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_iso(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


